// Jest 30 reads `testTimeout` from the global config only: when `npm test` runs this project
// through the root config (`projects`), e2e/jest.config.cjs's own testTimeout is ignored and
// every test would get Jest's default of 5 s (a spec that kills and restarts a service can take
// longer on a slow machine). Setting it here applies per test file, however the project is run.
jest.setTimeout(180_000);
