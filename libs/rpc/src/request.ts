import { EmptyError, firstValueFrom, type Observable, timeout, TimeoutError } from 'rxjs';

/** What a Nest client hands the callback of `publish` (Nest's `WritePacket`). */
interface ReplyPacket {
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

/** The part of Nest's ClientTCP this uses: `publish` (protected in the typings) and its socket (Nest's wrapper of a net.Socket). */
interface Publisher {
  publish(packet: { pattern: string; data: unknown }, callback: (reply: ReplyPacket) => void): () => void;
  socket: { netSocket?: { connecting: boolean; destroyed: boolean } } | null;
  connectionPromise: unknown;
}

/**
 * One request and its reply on a Nest TCP client: what
 * `firstValueFrom(client.send(pattern, data).pipe(timeout(timeoutMs)))` does, without the
 * observables. `ClientProxy.send` builds, per call, a deferred connect, a merge, an inner
 * observable, the timeout operator's scheduled action and the subscribers of `firstValueFrom`:
 * about a tenth of the gateway's allocations per grab (docs/performance.md). On a connected
 * client this hands the packet straight to the client's `publish` with one timer; it settles
 * exactly as the observable path does:
 * - an `err` in the reply rejects with it (a remote error payload, or Nest's local
 *   `Connection closed` when the socket closes with the request in flight);
 * - the first response resolves; a reply that ends with no response rejects with rxjs'
 *   `EmptyError`;
 * - no reply within `timeoutMs` rejects with rxjs' `TimeoutError`, and the request's callback is
 *   removed from the client's routing map (as unsubscribing does), so a late reply is dropped.
 * A client without a live connection (never connected, still dialling, or its socket just
 * closed) takes the observable path, whose `connect()` dials and fails with the connect-phase
 * error (`syscall: 'connect'`) the caller relies on to try another address.
 */
export function request(client: { send(pattern: string, data: unknown): Observable<unknown> }, pattern: string, data: unknown, timeoutMs: number): Promise<unknown> {
  const c = client as unknown as Publisher;
  const net = c.socket?.netSocket;
  if (c.connectionPromise == null || !net || net.connecting || net.destroyed) return firstValueFrom(client.send(pattern, data).pipe(timeout(timeoutMs)));
  return new Promise((resolve, reject) => {
    let done = false;
    // Assigned once, but publish may call back before it returns: a const would still be in its TDZ then.
    // eslint-disable-next-line prefer-const
    let remove: (() => void) | undefined;
    const settle = () => {
      done = true;
      clearTimeout(timer);
      remove?.();
    };
    const timer = setTimeout(() => {
      if (done) return;
      settle();
      reject(new TimeoutError());
    }, timeoutMs);
    remove = c.publish({ pattern, data }, ({ err, response, isDisposed }) => {
      if (done) return;
      settle();
      if (err) reject(err);
      else if (response === undefined && isDisposed) reject(new EmptyError());
      else resolve(response);
    });
    // publish reports a failure to write (e.g. serialization) through the callback, synchronously.
    if (done) remove();
  });
}
