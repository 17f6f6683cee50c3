/** Jest runs the TypeScript sources directly through ts-jest (CommonJS). Type checking is
 * done once by `tsc` in `npm test`, so ts-jest only transpiles (isolatedModules). */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/node-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true }, diagnostics: false }] },
  testTimeout: 120000,
};
