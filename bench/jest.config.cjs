/** Unit specs of the bench's own helpers (bench/tail.ts); the bench itself is run by `npm run bench`, never by jest. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('../tsconfig.base.json');

module.exports = {
  displayName: 'bench',
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/../' }),
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/*.spec.ts'],
};
