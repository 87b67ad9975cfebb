/**
 * k6 scenario "steady" (parameters and thresholds: loadtest/scenarios/steady.json).
 * Everyday traffic at a constant 200 arrivals/s for 2 minutes in realistic proportions: 45%
 * grabs, 25% envelope details, 15% wallet balance, 10% transaction history, 5% sends of small
 * 10-share envelopes that later grabs go to (group-chat style: grabs and details target the 20
 * newest envelopes).
 *
 *   BASE_URL=http://127.0.0.1:3000 JWT_SECRET=... k6 run loadtest/k6/steady.ts
 *
 * See loadtest/README.md for compose and Kubernetes, RATE_SCALE and TIME_SCALE.
 */
import { hongbaoTest } from './lib/hongbao.ts';

// SCENARIO_FILE: another scenario JSON (an absolute path, or relative to this directory)
const test = hongbaoTest(open(__ENV.SCENARIO_FILE || '../scenarios/steady.json'));

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export default test.iteration;
