/**
 * k6 scenario "flash" (parameters and thresholds: loadtest/scenarios/flash.json).
 * The flash sale: one envelope of 10,000 shares, 50,000 different would-be grabbers arriving
 * within about 11 seconds (ramp to 5000/s in 2 s, then hold until all 50,000 have arrived).
 * Every share must be won, nobody twice, and the money must settle.
 *
 *   BASE_URL=http://127.0.0.1:3000 JWT_SECRET=... k6 run loadtest/k6/flash.ts
 *
 * See loadtest/README.md for compose and Kubernetes, RATE_SCALE and TIME_SCALE.
 */
import { hongbaoTest } from './lib/hongbao.ts';

// SCENARIO_FILE: another scenario JSON (an absolute path, or relative to this directory)
const test = hongbaoTest(open(__ENV.SCENARIO_FILE || '../scenarios/flash.json'));

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export default test.iteration;
