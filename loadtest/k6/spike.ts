/**
 * k6 scenario "spike" (parameters and thresholds: loadtest/scenarios/spike.json).
 * Open model: arrivals ramp from a base of 50/s to a burst of 1200/s in 5 s, hold 15 s, and
 * fall back; 15 envelopes of 1000 shares, so late grabs meet sold-out envelopes. Sized so one
 * 2-core machine running everything finishes in about a minute: scale it with RATE_SCALE /
 * --rate-scale.
 *
 *   BASE_URL=http://127.0.0.1:3000 JWT_SECRET=... k6 run loadtest/k6/spike.ts
 *
 * See loadtest/README.md for compose and Kubernetes, RATE_SCALE and TIME_SCALE.
 */
import { hongbaoTest } from './lib/hongbao.ts';

// SCENARIO_FILE: another scenario JSON (an absolute path, or relative to this directory)
const test = hongbaoTest(open(__ENV.SCENARIO_FILE || '../scenarios/spike.json'));

export const options = test.options;
export const setup = test.setup;
export const teardown = test.teardown;
export default test.iteration;
