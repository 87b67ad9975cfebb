import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { LedgerPattern, Transfer } from '@hongbao/contracts';
import { IdleBackoff } from '@hongbao/resilience';
import { RpcClient } from '@hongbao/rpc';
import { ShardedMysql } from '@hongbao/sharding';
import { crashPoint, inBatchSpan, InjectLogger, Metrics, SpanKind } from '@hongbao/service-kit';
import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { WALLET_CONFIG, WalletConfig } from '../config';

export const LEDGER_CLIENT = Symbol('LEDGER_CLIENT');

/**
 * Relays the wallet's transactional outbox to the ledger, one loop per shard. Rows are locked
 * with SKIP LOCKED (so replicas share the work), sent, and deleted in the same transaction only
 * after the ledger acknowledged them; the ledger ignores transfer ids it already has, so a crash
 * after sending and before deleting re-sends harmlessly.
 */
@Injectable()
export class LedgerOutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly db: ShardedMysql,
    @Inject(LEDGER_CLIENT) private readonly ledger: RpcClient,
    private readonly metrics: Metrics,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @InjectLogger() private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    const relayed = this.metrics.counter('ledger_outbox_relayed_total', 'Outbox rows delivered to the ledger');
    const db = this.db;
    this.metrics.gauge('ledger_outbox_rows', 'Wallet outbox rows not yet delivered to the ledger', [], async function (this: { set(v: number): void }) {
      const counts = await db.all(async (p) => Number(((await p.query('SELECT COUNT(*) AS n FROM ledger_outbox')) as unknown as [{ n: number }[]])[0][0].n));
      this.set(counts.reduce((a, b) => a + b, 0));
    });
    for (let s = 0; s < this.db.shardCount(); s++) this.loops.push(this.loop(s, relayed));
  }

  private async loop(shard: number, relayed: { inc(n: number): void }): Promise<void> {
    let failures = 0;
    const idle = new IdleBackoff(this.config.OUTBOX_IDLE_MS, this.config.OUTBOX_MAX_IDLE_MS);
    while (this.running) {
      try {
        const n = await this.relayOnce(shard);
        failures = 0;
        if (n > 0) relayed.inc(n);
        // A short wait while rows keep coming; empty rounds double it up to OUTBOX_MAX_IDLE_MS.
        const wait = idle.next(n);
        if (n < this.config.OUTBOX_BATCH) await sleep(wait);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) this.log.warn({ err, shard, failures }, 'ledger outbox relay failed; retrying');
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** Relays one batch from one shard; returns the number of rows delivered. */
  relayOnce(shard: number): Promise<number> {
    return this.db.tx(shard, async (c) => {
      const [rows] = await c.query<RowDataPacket[]>(
        'SELECT id, transfer_id, debit_account, credit_account, amount, kind, envelope_id, at_ms, traceparent FROM ledger_outbox ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED',
        [this.config.OUTBOX_BATCH],
      );
      if (!rows.length) return 0;
      const transfers: Transfer[] = rows.map((r) => ({
        id: r.transfer_id,
        debitAccount: r.debit_account,
        creditAccount: r.credit_account,
        amount: Number(r.amount),
        kind: r.kind,
        ...(r.envelope_id ? { envelopeId: String(r.envelope_id) } : {}),
        at: Number(r.at_ms),
      }));
      // The ledger.append RPC carries this span's context: the child of the row's trace when the batch holds one.
      return inBatchSpan('ledger-outbox.relay', SpanKind.PRODUCER, () => rows.map((r) => r.traceparent as string | null), async () => {
        await this.ledger.send(LedgerPattern.Append, { transfers });
        crashPoint('outbox:after-send');
        await c.query('DELETE FROM ledger_outbox WHERE id IN (?)', [rows.map((r) => r.id)]);
        return rows.length;
      });
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
