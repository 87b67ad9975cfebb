/** Every project's jest config, so one run covers the repo (`npm test` selects subsets). */
module.exports = {
  projects: ['<rootDir>/libs/*/jest.config.cjs', '<rootDir>/apps/*/jest.config.cjs', '<rootDir>/loadtest/jest.config.cjs', '<rootDir>/bench/jest.config.cjs', '<rootDir>/e2e/jest.config.cjs'],
};
