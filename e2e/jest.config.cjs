const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('../tsconfig.base.json');

/** End-to-end specs: the four built services as processes, driven over HTTP. One at a time. */
module.exports = {
  displayName: 'e2e',
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/../' }),
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  testTimeout: 180000,
  // testTimeout above only counts when this config is run on its own (jest -c e2e/jest.config.cjs); see the file.
  setupFilesAfterEnv: ['<rootDir>/jest.timeout.cjs'],
  maxWorkers: 1,
};
