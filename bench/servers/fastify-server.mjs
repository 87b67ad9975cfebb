// Bare Fastify: the HTTP ceiling of one Node process on this machine. Prints "PORT <n>" when listening.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/grab/:id', async () => ({ ok: true }));
app.get('/ping', async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`PORT ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
