import { Transport } from '@nestjs/microservices';
import { tcpServerOptions } from './tcp-server-options';

describe('tcpServerOptions', () => {
  it('binds all IPv4 interfaces by default', () => {
    expect(tcpServerOptions(4001)).toEqual({ transport: Transport.TCP, options: { host: '0.0.0.0', port: 4001 } });
  });

  it('takes an explicit host', () => {
    expect(tcpServerOptions(4001, '127.0.0.1')).toEqual({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 4001 } });
  });

  it.each([0, -1, 65536, 1.5, Number.NaN])('refuses port %p', (port) => {
    expect(() => tcpServerOptions(port)).toThrow(RangeError);
  });
});
