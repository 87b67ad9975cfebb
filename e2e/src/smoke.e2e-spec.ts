import { TestSystem } from '@hongbao/testing';

describe('smoke: the four services as processes', () => {
  const sys = new TestSystem();
  beforeAll(() => sys.start(), 120_000);
  afterAll(() => sys.stop());

  it('tops up, sends, grabs, settles and audits clean', async () => {
    const alice = await sys.token('501');
    const bob = await sys.token('502');
    const top = await sys.api('POST', '/v1/wallet/topups', { token: alice, body: { amount: 5000 }, headers: { 'idempotency-key': 'k1' } });
    expect(top.status).toBe(201);
    expect(top.body.balance).toBe(5000);
    const env = await sys.api('POST', '/v1/envelopes', { token: alice, body: { amount: 300, count: 3, mode: 'equal' }, headers: { 'idempotency-key': 'e1' } });
    expect(env.status).toBe(201);
    const grab = await sys.api('POST', `/v1/envelopes/${env.body.envelopeId}/grab`, { token: bob });
    expect(grab.status).toBe(200);
    expect(grab.body).toEqual({ envelopeId: env.body.envelopeId, amount: 100 });
    const audit = await sys.settledAudit();
    expect(audit.ok).toBe(true);
    expect((await sys.api('GET', '/v1/wallet', { token: bob })).body.balance).toBe(100);
    expect((await sys.api('GET', '/v1/wallet', { token: alice })).body.balance).toBe(4700);
  });
});
