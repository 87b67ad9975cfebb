/** Asserts the status, showing the body when it is wrong (a bare status mismatch says nothing about why). */
export function expectStatus(res: { status: number; body: unknown }, status: number): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
}

/** The money invariants' names, as the audit reports them. */
export const AUDIT_CHECKS = ['no_oversell', 'no_double_grab', 'conservation', 'exactly_once_settlement', 'wallet_equals_ledger', 'global_conservation'];

/** Asserts a settled, clean audit: nothing pending, every invariant checked and ok. */
export function expectCleanAudit(audit: { ok: boolean; pending: number; checks: { name: string; ok: boolean }[] }): void {
  expect(audit.pending).toBe(0);
  expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  expect(audit.checks.map((c) => c.name)).toEqual(expect.arrayContaining(AUDIT_CHECKS));
  expect(audit.ok).toBe(true);
}
