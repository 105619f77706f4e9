/** Tests run TypeScript through ts-jest transpiling file by file (tsconfig's isolatedModules) (type-checking is `npm run typecheck`, which `npm test` runs first). */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  // Every supertest response is validated against the app's /openapi.json (a drift fails the test that received it).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/contract.setup.ts'],
  // Model tests load TensorFlow.js WASM; one worker keeps memory and CPU predictable on a 2-core machine.
  maxWorkers: 1,
};
