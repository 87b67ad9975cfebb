import { randomInt } from 'node:crypto';

/** 2025-01-01T00:00:00Z: ids count milliseconds from here (41 bits last ~69 years). */
export const EPOCH_MS = 1_735_689_600_000;
const WORKER_BITS = 10n;
const SEQ_BITS = 12n;
const MAX_WORKER = (1 << Number(WORKER_BITS)) - 1;
const MAX_SEQ = (1 << Number(SEQ_BITS)) - 1;

/**
 * Snowflake-style 64-bit ids: 41 bits of milliseconds since EPOCH_MS, 10 bits of worker id,
 * 12 bits of sequence. Time-ordered, no central counter; returned as decimal strings because
 * they exceed 2^53. Each live process needs a distinct worker id (0..1023): the services lease
 * one from Redis (libs/redis WorkerIdLease) unless ID_WORKER fixes it (see ADR 0002).
 */
export class Snowflake {
  private lastMs = -1;
  private seq = 0;
  readonly workerId: number;

  constructor(workerId: number = randomInt(0, MAX_WORKER + 1), private readonly now: () => number = Date.now) {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER) {
      throw new RangeError(`snowflake worker id must be 0..${MAX_WORKER}, got ${workerId}`);
    }
    this.workerId = workerId;
  }

  next(): string {
    let ms = this.now();
    if (ms < this.lastMs) ms = this.lastMs; // clock went back: stay monotonic rather than repeat ids
    if (ms === this.lastMs) {
      this.seq = (this.seq + 1) & MAX_SEQ;
      if (this.seq === 0) {
        ms = this.lastMs + 1; // 4096 ids in one ms: borrow the next millisecond
      }
    } else {
      this.seq = 0;
    }
    this.lastMs = ms;
    const id = (BigInt(ms - EPOCH_MS) << (WORKER_BITS + SEQ_BITS)) | (BigInt(this.workerId) << SEQ_BITS) | BigInt(this.seq);
    return id.toString();
  }

  /** Milliseconds since the Unix epoch encoded in an id. */
  static timestampOf(id: string): number {
    return Number(BigInt(id) >> (WORKER_BITS + SEQ_BITS)) + EPOCH_MS;
  }
}

/** True for a decimal string that could be one of our 64-bit ids. */
export function isIdString(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9][0-9]{0,19}$/.test(value) && BigInt(value) < 2n ** 63n;
}
