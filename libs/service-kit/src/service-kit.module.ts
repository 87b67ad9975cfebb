import { Controller, DynamicModule, Get, Global, Inject, Module, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Admission } from './admission';
import { Metrics } from './metrics';
import { Readiness } from './readiness';
import { DirectRpcHandlers } from './rpc-server';

/** DI token for the process's {@link Admission} (load shedding; the gateway reads its event-loop delay). */
export const ADMISSION = Symbol('ADMISSION');

/** DI token for the process's {@link DirectRpcHandlers} (RPC patterns answered outside Nest's pipeline). */
export const DIRECT_RPC = Symbol('DIRECT_RPC');

/** DI token for the process's pino logger. */
export const LOGGER = Symbol('LOGGER');

export interface ServiceKit {
  name: string;
  log: Logger;
  metrics: Metrics;
  readiness: Readiness;
  admission: Admission;
  direct: DirectRpcHandlers;
}

@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
  ) {}

  @Get('health/live')
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const r = await this.readiness.run();
    void reply.status(r.ok ? 200 : 503).send({ status: r.ok ? 'ok' : 'unavailable', checks: r.checks });
  }

  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}

/** Global module that hands every service its logger, metrics registry and readiness probes. */
@Global()
@Module({})
export class ServiceKitModule {
  static register(kit: ServiceKit): DynamicModule {
    return {
      module: ServiceKitModule,
      controllers: [HealthController],
      providers: [
        { provide: LOGGER, useValue: kit.log },
        { provide: Metrics, useValue: kit.metrics },
        { provide: Readiness, useValue: kit.readiness },
        { provide: ADMISSION, useValue: kit.admission },
        { provide: DIRECT_RPC, useValue: kit.direct },
      ],
      exports: [LOGGER, Metrics, Readiness, ADMISSION, DIRECT_RPC],
    };
  }
}

/** Inject the pino logger: `constructor(@InjectLogger() log: Logger)`. */
export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);
