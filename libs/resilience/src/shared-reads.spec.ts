import { SharedReads } from './shared-reads';

/** A load that settles when told to, counting its calls. */
function controlled<V>() {
  let calls = 0;
  let settle!: { resolve: (v: V) => void; reject: (e: Error) => void };
  const load = () => {
    calls++;
    return new Promise<V>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { load, calls: () => calls, settle: () => settle };
}

describe('SharedReads', () => {
  it('gives readers that arrive during a load of the same key that load, and loads again once it settled', async () => {
    const reads = new SharedReads<string>();
    const c = controlled<string>();
    const first = reads.read('e1', c.load);
    const second = reads.read('e1', c.load);
    const third = reads.read('e1', c.load);
    expect([first.shared, second.shared, third.shared]).toEqual([false, true, true]);
    expect(c.calls()).toBe(1);
    expect(reads.size).toBe(1);
    c.settle().resolve('details');
    expect(await Promise.all([first.value, second.value, third.value])).toEqual(['details', 'details', 'details']);
    expect(reads.size).toBe(0);
    const later = reads.read('e1', c.load);
    expect(later.shared).toBe(false);
    expect(c.calls()).toBe(2);
    c.settle().resolve('again');
    expect(await later.value).toBe('again');
  });

  it('keeps keys apart', async () => {
    const reads = new SharedReads<string>();
    const a = reads.read('a', () => Promise.resolve('A'));
    const b = reads.read('b', () => Promise.resolve('B'));
    expect([a.shared, b.shared]).toEqual([false, false]);
    expect([await a.value, await b.value]).toEqual(['A', 'B']);
  });

  it('gives every waiting reader the error of a failed load, and forgets it', async () => {
    const reads = new SharedReads<string>();
    const c = controlled<string>();
    const first = reads.read('e1', c.load);
    const second = reads.read('e1', c.load);
    c.settle().reject(new Error('redis down'));
    await expect(first.value).rejects.toThrow('redis down');
    await expect(second.value).rejects.toThrow('redis down');
    expect(reads.size).toBe(0);
    const retry = reads.read('e1', () => Promise.resolve('ok'));
    expect(retry.shared).toBe(false);
    expect(await retry.value).toBe('ok');
  });
});
