/** Named readiness probes (database ping, Redis ping...) that /health/ready runs. */
export class Readiness {
  private readonly checks = new Map<string, () => Promise<unknown>>();
  private shuttingDown = false;

  add(name: string, check: () => Promise<unknown>): void {
    this.checks.set(name, check);
  }

  /** After SIGTERM the service reports not-ready so load balancers stop sending before it stops. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async run(timeoutMs = 2000): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const out: Record<string, string> = {};
    let ok = !this.shuttingDown;
    if (this.shuttingDown) out['shutdown'] = 'shutting down';
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref()),
          ]);
          out[name] = 'ok';
        } catch (e) {
          ok = false;
          out[name] = (e as Error).message;
        }
      }),
    );
    return { ok, checks: out };
  }
}
