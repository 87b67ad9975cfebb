import { type MicroserviceOptions, Transport } from '@nestjs/microservices';

/**
 * Nest microservice options for a TCP listener that RpcClient can reach.
 * @param port TCP port, 1..65535 (port 0 is refused: nobody could discover it)
 * @param host interface to bind, default `0.0.0.0` (all IPv4 interfaces, what a container needs)
 */
export function tcpServerOptions(port: number, host = '0.0.0.0'): MicroserviceOptions {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`invalid RPC port ${port}: expected an integer 1..65535`);
  }
  return { transport: Transport.TCP, options: { host, port } };
}
