/**
 * Lua scripts of the grab path. Each touches only keys of one hash tag, so it runs unchanged
 * on Redis Cluster; each is atomic, so grabs on one envelope are serialised without locks.
 * Times come from Redis TIME so replicas' clocks never decide an expiry.
 */

/**
 * Load a pre-split envelope. KEYS: meta, shares. ARGV: expiresAtMs, keyExpireAtMs, amount,
 * count, senderId, share1..shareN. Returns 1 when loaded, 0 when already there (idempotent).
 */
export const LOAD_ENVELOPE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'exp', ARGV[1], 'kexp', ARGV[2], 'amount', ARGV[3], 'count', ARGV[4], 'sender', ARGV[5], 'closed', '0')
local n = #ARGV
local i = 6
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, j))
  i = j + 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return 1
`;

/** Grab outcomes returned in the first element of the GRAB reply. */
export const GrabResult = { NotFound: 0, Won: 1, AlreadyGrabbed: 2, SoldOut: 3, Expired: 4 } as const;

/**
 * One grab. KEYS: meta, shares, grabs, outbox. ARGV: userId, envelopeId, traceparent?
 * (the caller's W3C trace context, stored with the intent as `tp` so settlement continues the trace).
 * Reply: {0} not found | {1, amount, sharesLeft, nowMs} won | {2, earlierAmount} already |
 * {3} sold out | {4} expired. A win records user -> "amount:ms" and XADDs the settlement
 * intent to the partition's outbox stream in the same atomic step, so "Redis said yes"
 * and "a durable intent exists" can never be separated by a crash.
 */
export const GRAB = `
local m = redis.call('HMGET', KEYS[1], 'exp', 'closed', 'kexp')
if not m[1] then return {0} end
local prev = redis.call('HGET', KEYS[3], ARGV[1])
if prev then return {2, tonumber(string.match(prev, '^(%d+)'))} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if m[2] == '1' or now >= tonumber(m[1]) then return {4} end
local share = redis.call('LPOP', KEYS[2])
if not share then return {3} end
if redis.call('HSET', KEYS[3], ARGV[1], share .. ':' .. now) == 1 and redis.call('HLEN', KEYS[3]) == 1 then
  redis.call('PEXPIREAT', KEYS[3], m[3])
end
if ARGV[3] then
  redis.call('XADD', KEYS[4], '*', 'k', 'g', 'e', ARGV[2], 'u', ARGV[1], 'a', share, 't', now, 'tp', ARGV[3])
else
  redis.call('XADD', KEYS[4], '*', 'k', 'g', 'e', ARGV[2], 'u', ARGV[1], 'a', share, 't', now)
end
return {1, tonumber(share), redis.call('LLEN', KEYS[2]), now}
`;

/**
 * Close an envelope at expiry and emit its refund intent, exactly once.
 * KEYS: meta, shares, outbox. ARGV: envelopeId.
 * Reply: {-1} not found | {0, refund} already closed | {1, refund, sharesLeft} closed now.
 * Atomic with GRAB on the same keys, so an expiry racing the last grab either sees the share
 * taken (refund excludes it) or takes it first (the grab then answers expired).
 */
export const CLOSE_ENVELOPE = `
local m = redis.call('HMGET', KEYS[1], 'closed', 'sender', 'refund')
if not m[2] then return {-1} end
if m[1] == '1' then return {0, tonumber(m[3] or '0')} end
local shares = redis.call('LRANGE', KEYS[2], 0, -1)
local sum = 0
for _, s in ipairs(shares) do sum = sum + tonumber(s) end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'closed', '1', 'refund', sum)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[3], '*', 'k', 'r', 'e', ARGV[1], 'u', m[2], 'a', sum, 't', now)
return {1, sum, #shares}
`;
