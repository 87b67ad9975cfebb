/**
 * k6 scenario "smoke" (parameters and thresholds: loadtest/scenarios/smoke.json).
 * A few VUs for 30 seconds: every request type once in a while, strict thresholds. Run it
 * first, after every deploy, and in CI.
 *
 *   BASE_URL=http://127.0.0.1:3000 JWT_SECRET=... k6 run loadtest/k6/smoke.ts
 *
 * See loadtest/README.md for compose and Kubernetes, RATE_SCALE and TIME_SCALE.
 */
import { hongbaoTest } from './lib/hongbao.ts';

// SCENARIO_FILE: another scenario JSON (an absolute path, or relative to this directory)
const test = hongbaoTest(open(__ENV.SCENARIO_FILE || '../scenarios/smoke.json'));

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export default test.iteration;
