import { AppError, ErrorCode } from '@hongbao/contracts';
import { Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RpcException, TcpContext } from '@nestjs/microservices';
import { firstValueFrom, type Observable } from 'rxjs';
import { AppErrorRpcFilter, toRpcErrorPayload } from './app-error-rpc.filter';

function rpcHost(pattern: string): ExecutionContextHost {
  const host = new ExecutionContextHost([{ some: 'data' }, new TcpContext([null as never, pattern])]);
  host.setType('rpc');
  return host;
}

async function errorOf(obs: Observable<never>): Promise<unknown> {
  return firstValueFrom(obs).then(
    () => {
      throw new Error('expected the observable to error');
    },
    (err: unknown) => err,
  );
}

describe('AppErrorRpcFilter', () => {
  const filter = new AppErrorRpcFilter();
  let logged: jest.SpyInstance;

  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => logged.mockRestore());

  it('sends an AppError as its payload and logs nothing', async () => {
    const err = await errorOf(filter.catch(new AppError(ErrorCode.EnvelopeSoldOut, 'sold out', { envelopeId: '7' }), rpcHost('grab')));
    expect(err).toEqual({ code: 'ENVELOPE.SOLD_OUT', message: 'sold out', details: { envelopeId: '7' } });
    expect(logged).not.toHaveBeenCalled();
  });

  it('sends a plain Error as INTERNAL with no message or stack, and logs it with the pattern', async () => {
    const boom = new Error('secret-boom');
    const err = await errorOf(filter.catch(boom, rpcHost('wallet.debit')));
    expect(err).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(JSON.stringify(err)).not.toContain('secret-boom');
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0][0]).toContain('wallet.debit');
    expect(logged.mock.calls[0][1]).toBe(boom.stack);
  });

  it('passes an RpcException carrying a payload through, and turns other ones into INTERNAL', async () => {
    expect(await errorOf(filter.catch(new RpcException({ code: 'OVERLOADED', message: 'busy' }), rpcHost('x')))).toEqual({
      code: 'OVERLOADED',
      message: 'busy',
    });
    expect(await errorOf(filter.catch(new RpcException('oops'), rpcHost('x')))).toEqual({ code: 'INTERNAL', message: 'internal error' });
  });

  it('handles non-Error throwables', async () => {
    expect(await errorOf(filter.catch('a string', rpcHost('x')))).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(toRpcErrorPayload(undefined)).toBeUndefined();
  });
});
