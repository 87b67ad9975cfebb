import type { Socket } from 'node:net';
import { JsonSocket } from '@nestjs/microservices';

/**
 * Nest's JSON-over-TCP framing (`<length>#<json>`, unchanged on the wire), with the messages
 * written to one connection in the same tick sent as one write: the socket is corked at the
 * first message and uncorked on the next tick. Under a burst, many RPC calls (or answers) on a
 * connection are ready together, and each write is a system call plus the loopback TCP work of
 * delivering it, the largest single cost of the gateway and envelope processes in the profile
 * (docs/performance.md). Used by RpcClient and RpcServer through Nest's `socketClass` option.
 */
export class CoalescingJsonSocket extends JsonSocket {
  private corked = false;

  constructor(socket: Socket) {
    super(socket);
    // No Nagle: writes are already coalesced per tick, and Nagle's wait for an ACK (with the
    // peer's delayed ACK) would hold a lone message back by up to tens of milliseconds.
    socket.setNoDelay(true);
  }

  protected override handleSend(message: unknown, callback?: (err?: unknown) => void): void {
    if (!this.corked) {
      this.corked = true;
      this.netSocket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.netSocket.uncork();
      });
    }
    super.handleSend(message, callback);
  }
}
