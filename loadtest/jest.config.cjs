/** Unit specs of the load-test tooling: the shared scenario model, the runner's metrics and parsers. */
module.exports = {
  displayName: 'loadtest',
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/runner/**/*.spec.ts'],
};
