/** Asserts the status, showing the body when it is wrong (a bare status mismatch says nothing about why). */
export function expectStatus(res: { status: number; body: unknown }, status: number): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
}
