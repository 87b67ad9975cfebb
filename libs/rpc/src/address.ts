import { isIP } from 'node:net';

/** One dialable endpoint of a callee. */
export interface RpcAddress {
  /** IP address (or hostname, though resolvers should return IPs) */
  host: string;
  /** TCP port, 1..65535 */
  port: number;
}

/**
 * What a resolver may return per address:
 * - a bare IP (`"10.0.0.7"`, `"::1"`): the target's port is used;
 * - `"ip:port"` or `"[ipv6]:port"`: that port is used (lets tests put several local
 *   listeners behind one name);
 * - `{ host, port? }`: `port` defaults to the target's port.
 */
export type ResolvedAddress = string | { host: string; port?: number };

function checkPort(port: number, source: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`invalid port in "${source}": expected an integer 1..65535`);
  }
  return port;
}

/** Parses `"host:port"` or `"[ipv6]:port"`; throws a RangeError naming the input otherwise. */
export function parseHostPort(value: string): RpcAddress {
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') {
      throw new RangeError(`invalid address "${value}": expected "[ipv6]:port"`);
    }
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon <= 0 || value.indexOf(':') !== colon) {
      throw new RangeError(`invalid address "${value}": expected "host:port" (IPv6 as "[addr]:port")`);
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
  }
  if (host === '' || !/^\d+$/.test(portText)) {
    throw new RangeError(`invalid address "${value}": expected "host:port"`);
  }
  return { host, port: checkPort(Number(portText), value) };
}

/** Turns one resolver answer into an address, filling in `defaultPort` where it has none. */
export function normalizeAddress(entry: ResolvedAddress, defaultPort: number): RpcAddress {
  if (typeof entry === 'string') {
    return isIP(entry) !== 0 ? { host: entry, port: defaultPort } : parseHostPort(entry);
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.host !== 'string' || entry.host === '') {
    throw new RangeError(`invalid resolver answer ${JSON.stringify(entry)}: expected a string or {host, port?}`);
  }
  const port = entry.port === undefined ? defaultPort : checkPort(entry.port, `${entry.host}:${entry.port}`);
  return { host: entry.host, port };
}

/** The canonical `"ip:port"` key of an address (`"[ipv6]:port"` for IPv6). */
export function addressKey(address: RpcAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Normalizes and de-duplicates a resolver answer, keyed by {@link addressKey}, answer order kept. */
export function toAddressMap(entries: readonly ResolvedAddress[], defaultPort: number): Map<string, RpcAddress> {
  const out = new Map<string, RpcAddress>();
  for (const entry of entries) {
    const address = normalizeAddress(entry, defaultPort);
    const key = addressKey(address);
    if (!out.has(key)) out.set(key, address);
  }
  return out;
}
