// Container healthcheck without curl: GET http://127.0.0.1:$PORT/health/ready, exit 0 on 200.
const port = process.env.PORT || 3000;
fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2500) })
  .then((r) => process.exit(r.ok ? 0 : 1))
  .catch(() => process.exit(1));
