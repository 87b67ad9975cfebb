import { parseShardUrl, redactUrl, ShardMap } from './shard-map';
import { SLOT_COUNT, slotOf } from './slot';

const url = (i: number, host = '127.0.0.1') => `mysql://hongbao:s3cret@${host}:3306/hongbao_test_${i}`;
const urls = (n: number) => Array.from({ length: n }, (_, i) => url(i));

describe('ShardMap.fromConfig default split', () => {
  it('gives one shard every slot', () => {
    const map = ShardMap.fromConfig(urls(1));
    expect(map.shards).toEqual([
      { index: 0, url: url(0), database: 'hongbao_test_0', slots: [[0, 1023]] },
    ]);
  });

  it('splits into equal contiguous ranges', () => {
    expect(ShardMap.fromConfig(urls(2)).shards.map((s) => s.slots)).toEqual([[[0, 511]], [[512, 1023]]]);
    expect(ShardMap.fromConfig(urls(4)).shards.map((s) => s.slots)).toEqual([
      [[0, 255]],
      [[256, 511]],
      [[512, 767]],
      [[768, 1023]],
    ]);
  });

  it('covers every slot exactly once when the count does not divide 1024', () => {
    const map = ShardMap.fromConfig(urls(3));
    expect(map.shards.map((s) => s.slots)).toEqual([[[0, 340]], [[341, 681]], [[682, 1023]]]);
    expect(map.toSlotSpec()).toBe('0-340:0,341-681:1,682-1023:2');
  });

  it('routes keys and slots consistently', () => {
    const map = ShardMap.fromConfig(urls(2));
    expect(map.shardIndexOfSlot(0)).toBe(0);
    expect(map.shardIndexOfSlot(511)).toBe(0);
    expect(map.shardIndexOfSlot(512)).toBe(1);
    expect(map.shardIndexOfSlot(1023)).toBe(1);
    for (const key of ['1', '2', '3', 'grab:9:10', '7329048213098496000']) {
      expect(map.shardIndexOf(key)).toBe(slotOf(key) < 512 ? 0 : 1);
    }
  });

  it('rejects an out-of-range slot', () => {
    const map = ShardMap.fromConfig(urls(2));
    expect(() => map.shardIndexOfSlot(SLOT_COUNT)).toThrow(/slot 1024 is out of range 0-1023/);
    expect(() => map.shardIndexOfSlot(-1)).toThrow(/out of range/);
    expect(() => map.shardIndexOfSlot(1.5)).toThrow(/out of range/);
  });
});

describe('ShardMap.fromConfig slot spec', () => {
  it('parses ranges, single slots and whitespace, merging adjacent ranges', () => {
    const map = ShardMap.fromConfig(urls(3), ' 0-99:0, 100-199 : 0,200:2,201-1022:1 ,1023:2');
    expect(map.shards.map((s) => s.slots)).toEqual([[[0, 199]], [[201, 1022]], [[200, 200], [1023, 1023]]]);
    expect(map.shardIndexOfSlot(200)).toBe(2);
    expect(map.shardIndexOfSlot(201)).toBe(1);
    expect(map.shardIndexOfSlot(1023)).toBe(2);
    expect(map.toSlotSpec()).toBe('0-199:0,200-200:2,201-1022:1,1023-1023:2');
  });

  it('accepts the two-server layout and allows a shard that owns no slots yet', () => {
    const map = ShardMap.fromConfig(urls(3), '0-511:0,512-1023:1');
    expect(map.shards[2].slots).toEqual([]);
    expect(map.shardIndexOfSlot(600)).toBe(1);
  });

  it('treats an empty spec as the default split', () => {
    expect(ShardMap.fromConfig(urls(2), '  ').toSlotSpec()).toBe('0-511:0,512-1023:1');
  });

  it.each([
    ['0-511:0', /leaves slot\(s\) 512-1023 unassigned/],
    ['0-100:0,102-1023:1', /leaves slot\(s\) 101 unassigned/],
    ['0-600:0,500-1023:1', /slot 500 is assigned twice.*"0-600:0".*"500-1023:1"/],
    ['0-511:0,512-1023:2', /shard index 2 is out of range, 2 shard URL\(s\) given \(indexes 0-1\)/],
    ['0-1024:0', /slots go from 0 to 1023/],
    ['511-0:0,512-1023:1', /range start 511 is after its end 0/],
    ['0-511:0;512-1023:1', /invalid slot spec entry "0-511:0;512-1023:1"/],
    ['0-511:0,,512-1023:1', /invalid slot spec entry ""/],
    ['0-511:-1,512-1023:1', /invalid slot spec entry "0-511:-1"/],
    ['0-511,512-1023:1', /invalid slot spec entry "0-511"/],
  ])('rejects %j', (spec, message) => {
    expect(() => ShardMap.fromConfig(urls(2), spec)).toThrow(message);
  });
});

describe('ShardMap.fromConfig URLs', () => {
  it('requires at least one URL', () => {
    expect(() => ShardMap.fromConfig([])).toThrow(/at least one shard URL/);
  });

  it('rejects two shards on the same database', () => {
    expect(() => ShardMap.fromConfig([url(0), url(0)])).toThrow(/shards 0 and 1 both point at 127.0.0.1:3306\/hongbao_test_0/);
  });

  it('allows the same database name on different servers', () => {
    const map = ShardMap.fromConfig([
      'mysql://u:p@10.0.0.1:3306/hongbao_wallet',
      'mysql://u:p@10.0.0.2:3306/hongbao_wallet',
    ]);
    expect(map.shards.map((s) => s.database)).toEqual(['hongbao_wallet', 'hongbao_wallet']);
  });

  it.each([
    ['not a url', /expected mysql:\/\/user:pass@host:port\/database/],
    ['postgres://u:p@h:5432/db', /scheme must be mysql:\/\//],
    ['mysql://u:p@h:3306/', /exactly one database name/],
    ['mysql://u:p@h:3306/a/b', /exactly one database name/],
    ['mysql://u:p@h:3306/bad-name', /must match/],
  ])('rejects %j without echoing the password', (bad, message) => {
    let error: Error | undefined;
    try {
      ShardMap.fromConfig([bad]);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain(':p@');
  });
});

describe('parseShardUrl / redactUrl', () => {
  it('parses every part, decoding percent-escapes and defaulting the port', () => {
    expect(parseShardUrl('mysql://app%40x:p%3Ass@db.internal/hongbao_wallet_0')).toEqual({
      host: 'db.internal',
      port: 3306,
      user: 'app@x',
      password: 'p:ss',
      database: 'hongbao_wallet_0',
    });
    expect(parseShardUrl('mysql://u:p@127.0.0.1:3307/d').port).toBe(3307);
  });

  it('masks the password', () => {
    expect(redactUrl('mysql://hongbao:s3cret@127.0.0.1:3306/db')).toBe('mysql://hongbao:***@127.0.0.1:3306/db');
    expect(redactUrl('mysql://hongbao@127.0.0.1/db')).toBe('mysql://hongbao@127.0.0.1/db');
  });
});
