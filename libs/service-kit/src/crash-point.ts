/**
 * Fault injection for crash tests: when HONGBAO_CRASH_AT names a point, the process kills
 * itself with SIGKILL the first time it reaches it, exactly as a power cut would, with no
 * cleanup. Points: relay:after-read, relay:after-enqueue, settlement:after-commit,
 * outbox:after-send, create:after-debit. Unset in production: the check is one string compare.
 */
const CRASH_AT = process.env['HONGBAO_CRASH_AT'] ?? '';

export type CrashPointName = 'relay:after-read' | 'relay:after-enqueue' | 'settlement:after-commit' | 'outbox:after-send' | 'create:after-debit';

export function crashPoint(name: CrashPointName): void {
  if (CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
