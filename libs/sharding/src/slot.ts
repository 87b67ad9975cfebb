/** Fixed number of virtual slots. Never change it: every stored row's slot depends on it. */
export const SLOT_COUNT = 1024;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a 32-bit hash of the UTF-8 bytes of `key`, as an unsigned integer.
 * Deterministic across processes, Node versions and languages (the algorithm is public and
 * tiny), which is what routing needs; it is not meant to resist adversarial keys.
 */
export function fnv1a32(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * Virtual slot (0..SLOT_COUNT-1) of a routing key: FNV-1a 32-bit of the UTF-8 key, modulo
 * SLOT_COUNT. Keys are decimal id strings (user ids, snowflake ids) or transfer ids like
 * "grab:123:456"; pass ids as strings, never as JS numbers (64-bit ids lose digits).
 */
export function slotOf(key: string): number {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`slotOf: key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
  }
  return fnv1a32(key) % SLOT_COUNT;
}
