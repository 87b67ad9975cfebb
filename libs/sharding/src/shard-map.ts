import { SLOT_COUNT, slotOf } from './slot';

/** One physical shard: a database on some MySQL/MariaDB server and the virtual slots it owns. */
export interface ShardSpec {
  /** Position in the shard URL list (0-based); stable, used in logs and by `ShardedMysql.pool(i)`. */
  index: number;
  /** `mysql://user:pass@host:port/database` (port defaults to 3306). Contains a password: never log it. */
  url: string;
  /** Database name taken from the URL path. */
  database: string;
  /** Owned slots as sorted, merged, inclusive `[from, to]` ranges; empty for a shard that owns no slots yet. */
  slots: Array<[number, number]>;
}

/** Connection settings parsed from a shard URL. */
export interface ShardLocation {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Parses `mysql://user:pass@host:port/database`. Throws an Error naming the problem (never echoing the password). */
export function parseShardUrl(url: string): ShardLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Invalid shard URL ${redactUrl(url)}: expected mysql://user:pass@host:port/database`);
  }
  if (parsed.protocol !== 'mysql:') {
    throw new Error(`Invalid shard URL ${redactUrl(url)}: scheme must be mysql://, got ${parsed.protocol}//`);
  }
  if (!parsed.hostname) {
    throw new Error(`Invalid shard URL ${redactUrl(url)}: missing host`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) {
    throw new Error(`Invalid shard URL ${redactUrl(url)}: the path must be exactly one database name`);
  }
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    // Names are interpolated (backtick-quoted) into CREATE/DROP DATABASE, so keep them plain.
    throw new Error(`Invalid shard URL ${redactUrl(url)}: database name "${database}" must match [A-Za-z0-9_$]{1,64}`);
  }
  const port = parsed.port ? Number(parsed.port) : 3306;
  return {
    // Bracketed IPv6 literals come back with brackets; the driver wants them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

/** The URL with its password replaced by `***`, for error messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

const SPEC_ENTRY = /^(\d+)(?:\s*-\s*(\d+))?\s*:\s*(\d+)$/;

/**
 * Maps the SLOT_COUNT virtual slots onto physical shards. Immutable; build one at boot from
 * config (`*_SHARDS` URLs plus optional `*_SHARD_SLOTS` spec) and share it.
 */
export class ShardMap {
  /** The physical shards, in URL order. */
  readonly shards: readonly ShardSpec[];
  private readonly slotToShard: Uint16Array;

  private constructor(shards: ShardSpec[], slotToShard: Uint16Array) {
    this.shards = Object.freeze(shards.map((s) => Object.freeze(s)));
    this.slotToShard = slotToShard;
  }

  /**
   * @param urls one `mysql://user:pass@host:port/database` per physical shard; shard i is urls[i].
   * @param slotSpec optional assignment like `"0-511:0,512-1023:1"` (inclusive ranges `FROM-TO:SHARD`,
   *   or `SLOT:SHARD` for one slot). Default: SLOT_COUNT split into equal contiguous ranges in URL order.
   * @throws Error if a URL is invalid or repeated, a slot is unassigned or assigned twice, a slot or
   *   shard index is out of range, or the spec is malformed. A shard may own no slots (a new server
   *   being prepared before slots move to it).
   */
  static fromConfig(urls: string[], slotSpec?: string): ShardMap {
    if (!Array.isArray(urls) || urls.length === 0) {
      throw new Error('ShardMap: at least one shard URL is required');
    }
    if (urls.length > SLOT_COUNT) {
      throw new Error(`ShardMap: ${urls.length} shard URLs given but there are only ${SLOT_COUNT} slots`);
    }
    const seen = new Map<string, number>();
    const locations = urls.map((url, i) => {
      const loc = parseShardUrl(url.trim());
      const where = `${loc.host}:${loc.port}/${loc.database}`;
      const dup = seen.get(where);
      if (dup !== undefined) {
        throw new Error(`ShardMap: shards ${dup} and ${i} both point at ${where}; every shard needs its own database`);
      }
      seen.set(where, i);
      return loc;
    });

    const table =
      slotSpec !== undefined && slotSpec.trim() !== ''
        ? parseSlotSpec(slotSpec, urls.length)
        : defaultSplit(urls.length);

    const shards: ShardSpec[] = urls.map((url, index) => ({
      index,
      url: url.trim(),
      database: locations[index].database,
      slots: rangesOf(table, index),
    }));
    return new ShardMap(shards, table);
  }

  /** Index of the shard owning `key`'s slot. */
  shardIndexOf(key: string): number {
    return this.slotToShard[slotOf(key)];
  }

  /** Index of the shard owning `slot` (0..SLOT_COUNT-1). */
  shardIndexOfSlot(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
      throw new RangeError(`ShardMap: slot ${slot} is out of range 0-${SLOT_COUNT - 1}`);
    }
    return this.slotToShard[slot];
  }

  /** The assignment in `*_SHARD_SLOTS` syntax, e.g. `"0-511:0,512-1023:1"` (handy when planning a slot move). */
  toSlotSpec(): string {
    const parts: string[] = [];
    let from = 0;
    for (let slot = 1; slot <= SLOT_COUNT; slot++) {
      if (slot === SLOT_COUNT || this.slotToShard[slot] !== this.slotToShard[from]) {
        parts.push(`${from}-${slot - 1}:${this.slotToShard[from]}`);
        from = slot;
      }
    }
    return parts.join(',');
  }
}

function defaultSplit(shardCount: number): Uint16Array {
  const table = new Uint16Array(SLOT_COUNT);
  for (let i = 0; i < shardCount; i++) {
    const from = Math.floor((i * SLOT_COUNT) / shardCount);
    const to = Math.floor(((i + 1) * SLOT_COUNT) / shardCount);
    table.fill(i, from, to);
  }
  return table;
}

function parseSlotSpec(spec: string, shardCount: number): Uint16Array {
  const UNASSIGNED = -1;
  const owner = new Int32Array(SLOT_COUNT).fill(UNASSIGNED);
  const ownerEntry: string[] = new Array(SLOT_COUNT);
  const entries = spec.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const m = SPEC_ENTRY.exec(entry);
    if (!m) {
      throw new Error(
        `ShardMap: invalid slot spec entry "${entry}": expected FROM-TO:SHARD (inclusive) or SLOT:SHARD, e.g. "0-511:0,512-1023:1"`,
      );
    }
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const shard = Number(m[3]);
    if (from > to) {
      throw new Error(`ShardMap: invalid slot spec entry "${entry}": range start ${from} is after its end ${to}`);
    }
    if (to >= SLOT_COUNT) {
      throw new Error(`ShardMap: invalid slot spec entry "${entry}": slots go from 0 to ${SLOT_COUNT - 1}`);
    }
    if (shard >= shardCount) {
      throw new Error(
        `ShardMap: invalid slot spec entry "${entry}": shard index ${shard} is out of range, ${shardCount} shard URL(s) given (indexes 0-${shardCount - 1})`,
      );
    }
    for (let slot = from; slot <= to; slot++) {
      if (owner[slot] !== UNASSIGNED) {
        throw new Error(
          `ShardMap: slot ${slot} is assigned twice in the slot spec: by "${ownerEntry[slot]}" and by "${entry}"`,
        );
      }
      owner[slot] = shard;
      ownerEntry[slot] = entry;
    }
  }
  const missing: Array<[number, number]> = [];
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (owner[slot] !== UNASSIGNED) continue;
    const last = missing[missing.length - 1];
    if (last && last[1] === slot - 1) last[1] = slot;
    else missing.push([slot, slot]);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    throw new Error(
      `ShardMap: the slot spec leaves slot(s) ${shown.join(', ')}${missing.length > 5 ? ', ...' : ''} unassigned; every slot 0-${SLOT_COUNT - 1} needs a shard`,
    );
  }
  return Uint16Array.from(owner);
}

function rangesOf(table: Uint16Array, shard: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (table[slot] !== shard) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === slot - 1) last[1] = slot;
    else ranges.push([slot, slot]);
  }
  return ranges;
}
