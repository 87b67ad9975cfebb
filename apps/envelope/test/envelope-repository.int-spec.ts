import { randomBytes } from 'node:crypto';
import { assertTestDatabases, dropDatabases, migrate, ShardedMysql, ShardMap } from '@hongbao/sharding';
import { EnvelopeRepository } from '../src/envelope/envelope.repository';
import { envelopeMigrations } from '../src/migrations';

// Real MariaDB (scripts/local-deps.sh). This file owns two random shard databases, dropped in afterAll.
const BASE = 'mysql://hongbao:hongbao@127.0.0.1:3306';
const run = randomBytes(4).toString('hex');
const map = ShardMap.fromConfig([`${BASE}/hongbao_test_${run}_envrepo_0`, `${BASE}/hongbao_test_${run}_envrepo_1`]);

let db: ShardedMysql;
let repo: EnvelopeRepository;

beforeAll(async () => {
  assertTestDatabases(map);
  await migrate(map, envelopeMigrations);
  db = new ShardedMysql(map, { connectionLimit: 24 });
  repo = new EnvelopeRepository(db);
});

afterAll(async () => {
  await db?.close();
  await dropDatabases(map);
});

describe('EnvelopeRepository: one send arriving many times at once', () => {
  // The send path a replayed request runs (create-envelope.service): claim the key, insert the
  // envelope as pending, move it to active. 20 copies of each send at once, 200 sends: InnoDB
  // deadlocks between these statements (1 in ~800 requests in the e2e abuse spec) are re-run by
  // the pool (libs/sharding); every copy must still get the one envelope, and none an error.
  it('20 copies of each of 200 sends: every copy gets the same envelope, exactly one moves it to active', async () => {
    const failures: string[] = [];
    for (let send = 0; send < 200; send++) {
      const sender = String(70_000 + send);
      const copies = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          try {
            const claim = await repo.claimSendRequest(sender, 'same-key', 'h'.repeat(64), String(9_000_000 + send * 100 + i));
            const row = await repo.insertPending({
              id: claim.envelopeId,
              senderId: sender,
              amount: 600,
              count: 6,
              mode: 'equal',
              greeting: null,
              expiresAtMs: 2_000_000_000_000,
              createdAtMs: 1_000_000_000_000 + send,
            });
            return { id: row.id, moved: await repo.transition(row.id, 'active') };
          } catch (err) {
            failures.push(`${send}/${i}: ${(err as Error).message}`);
            return undefined;
          }
        }),
      );
      expect(failures).toEqual([]);
      expect(new Set(copies.map((c) => c!.id)).size).toBe(1);
      expect(copies.filter((c) => c!.moved)).toHaveLength(1);
      expect((await repo.find(copies[0]!.id))!.status).toBe('active');
    }
  }, 120_000);
});
