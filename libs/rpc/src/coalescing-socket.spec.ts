import { createServer, type Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CoalescingJsonSocket } from './coalescing-socket';

/** The socket's writes to the OS (net.Socket's one internal write path): messages per system call. */
function countWrites(client: Socket): number[] {
  const writes: number[] = [];
  const raw = client as unknown as { _writeGeneric: (writev: boolean, data: unknown, enc: string, cb: () => void) => void };
  const orig = raw._writeGeneric.bind(client);
  raw._writeGeneric = (writev, data, enc, cb) => (writes.push(writev ? (data as unknown[]).length : 1), orig(writev, data, enc, cb));
  return writes;
}

describe('CoalescingJsonSocket over real TCP', () => {
  let server: Server;
  let chunks: string[];
  let client: Socket;

  beforeEach(async () => {
    chunks = [];
    server = createServer((s) => s.on('data', (d) => chunks.push(d.toString('utf8'))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new Socket();
    await new Promise<void>((r) => client.connect((server.address() as AddressInfo).port, '127.0.0.1', r));
  });

  afterEach(async () => {
    client.destroy();
    await new Promise((r) => server.close(r));
  });

  const settle = () => new Promise((r) => setTimeout(r, 100));

  it('sends the messages of one tick in a single write, framed as Nest frames them', async () => {
    const socket = new CoalescingJsonSocket(client);
    const writes = countWrites(client);
    socket.sendMessage({ id: 'a', pattern: 'p', data: { n: 1 } });
    socket.sendMessage({ id: 'b', pattern: 'p', data: { n: 2 } });
    socket.sendMessage({ id: 'c', pattern: 'p', data: { n: 3 } });
    await settle();
    // One system call carrying the three messages.
    expect(writes).toEqual([3]);
    const text = chunks.join('');
    const frames = [...text.matchAll(/(\d+)#/g)].length;
    expect(frames).toBe(3);
    expect(text).toContain('{"id":"a","pattern":"p","data":{"n":1}}');
    expect(text).toContain('{"id":"c","pattern":"p","data":{"n":3}}');
  });

  it('writes messages of different ticks separately', async () => {
    const socket = new CoalescingJsonSocket(client);
    const writes = countWrites(client);
    socket.sendMessage({ id: 'a' });
    await settle();
    socket.sendMessage({ id: 'b' });
    await settle();
    expect(writes).toEqual([1, 1]);
    expect(chunks.join('')).toBe('10#{"id":"a"}10#{"id":"b"}');
  });
});
