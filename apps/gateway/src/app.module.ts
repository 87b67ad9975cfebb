import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { bullConnection, createRedis, RedisClient } from '@hongbao/redis';
import { isRetrySafePattern, RpcClient } from '@hongbao/rpc';
import { Metrics, Readiness } from '@hongbao/service-kit';
import { AuthGuard } from './auth/auth.guard';
import { Gate } from './auth/gate';
import { TokenVerifier } from './auth/token-verifier';
import { GATEWAY_CONFIG, GatewayConfig } from './config';
import { CanaryRouter, Upstream, UpstreamMetrics } from './governance/canary';
import { Degradation, QUEUE_REDIS } from './governance/degradation';
import { GATEWAY_REDIS, RateLimiter } from './governance/rate-limiter';
import { GrabRoute } from './hot/grab.route';
import { FinishedDetails } from './hot/finished-details';
import { SoldOutEdge } from './hot/sold-out-edge';
import { ApiController, ENVELOPE, LEDGER, WALLET } from './http/api.controller';

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(ENVELOPE) private readonly envelope: Upstream,
    @Inject(WALLET) private readonly wallet: Upstream,
    @Inject(LEDGER) private readonly ledger: Upstream,
    @Inject(GATEWAY_REDIS) private readonly redis: RedisClient,
    @Inject(QUEUE_REDIS) private readonly queueRedis: RedisClient,
  ) {}

  static register(config: GatewayConfig): DynamicModule {
    const router = new CanaryRouter({ percent: config.CANARY_PERCENT, users: config.CANARY_USERS });
    const connect = async (target: string, name: string, timeoutMs: number) => {
      // Reads, and writes the callee deduplicates, are retried with jittered backoff within the timeout.
      const c = new RpcClient({ target, name, timeoutMs, idempotent: isRetrySafePattern });
      await c.connect();
      return c;
    };
    // Readiness gates traffic, so it names only what the public money path needs: a ledger
    // outage must delay credits and the admin audit, never take the API out of rotation; a
    // canary pool that is down must not take the stable path out of rotation either.
    const upstream = (token: symbol, service: string, target: string, canary: string | undefined, timeoutMs: number, gatesReadiness: boolean) => ({
      provide: token,
      inject: [Readiness, Metrics],
      useFactory: async (readiness: Readiness, metrics: Metrics) => {
        const stable = await connect(target, service, timeoutMs);
        const canaryClient = canary ? await connect(canary, `${service}-canary`, timeoutMs) : undefined;
        if (gatesReadiness) {
          readiness.add(`rpc:${service}`, async () => {
            if (!stable.addresses().length) throw new Error(`no ${service} instance reachable at ${target}`);
          });
        }
        return new Upstream(service, stable, canaryClient, router, upstreamMetrics(metrics));
      },
    });
    return {
      module: AppModule,
      controllers: [ApiController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        upstream(ENVELOPE, 'envelope', config.ENVELOPE_RPC, config.ENVELOPE_CANARY_RPC, config.RPC_TIMEOUT_MS, true),
        upstream(WALLET, 'wallet', config.WALLET_RPC, config.WALLET_CANARY_RPC, config.RPC_TIMEOUT_MS, true),
        upstream(LEDGER, 'ledger', config.LEDGER_RPC, config.LEDGER_CANARY_RPC, config.AUDIT_TIMEOUT_MS, false),
        // Short command timeout and no offline queue: a Redis outage must fail rate-limit checks
        // fast (the in-memory insurance limiter then answers), never hold requests.
        { provide: GATEWAY_REDIS, useFactory: () => createRedis(config.REDIS_URL, { commandTimeout: 250, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) },
        { provide: QUEUE_REDIS, useFactory: () => bullConnection(config.QUEUE_REDIS_URL) },
        TokenVerifier,
        RateLimiter,
        Degradation,
        SoldOutEdge,
        FinishedDetails,
        Gate,
        AuthGuard,
        GrabRoute,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.envelope.clients(), ...this.wallet.clients(), ...this.ledger.clients()].map((c) => c.close()));
    this.redis.disconnect();
    this.queueRedis.disconnect();
  }
}

/** One set of upstream metrics per process, shared by the three services' upstreams. */
const perRegistry = new WeakMap<Metrics, UpstreamMetrics>();
function upstreamMetrics(metrics: Metrics): UpstreamMetrics {
  let m = perRegistry.get(metrics);
  if (!m) {
    m = new UpstreamMetrics(metrics);
    perRegistry.set(metrics, m);
  }
  return m;
}
