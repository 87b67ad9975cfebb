// Bare Fastify route running the grab Lua script (EnvelopeScripts.grab) on Redis: no gateway, no RPC,
// no JWT. Envelopes are pre-loaded by bench/main.ts under BENCH_REDIS_PREFIX. Prints "PORT <n>".
import Fastify from 'fastify';
import { createRedis, EnvelopeKeys, EnvelopeScripts } from '@hongbao/redis';

async function start(): Promise<void> {
  const redis = createRedis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const scripts = new EnvelopeScripts(redis, new EnvelopeKeys(64, process.env['BENCH_REDIS_PREFIX'] ?? 'hbbench'));
  const app = Fastify({ logger: false });
  app.post<{ Params: { id: string }; Querystring: { u: string } }>('/grab/:id', async (req, reply) => {
    const r = await scripts.grab(req.params.id, req.query.u);
    if (r.result !== 1) reply.code(409);
    return r;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  console.log(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}`);
  process.on('SIGTERM', () => {
    void app.close().then(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
}
start().catch((e) => {
  console.error(e);
  process.exit(1);
});
