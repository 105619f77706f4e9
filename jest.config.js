/** Tests run TypeScript through ts-jest transpiling file by file (tsconfig's isolatedModules) (type-checking is `npm run typecheck`, which `npm test` runs first). */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Generous: model suites on a 2-core machine (2 inference workers plus the test process) take minutes; none asserts time.
  testTimeout: 300000,
  // Every supertest response is validated against the app's /openapi.json (a drift fails the test that received it).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/contract.setup.ts'],
  // Model tests load ONNX Runtime sessions or TensorFlow.js WASM; one jest worker keeps memory and CPU predictable on 2 cores.
  maxWorkers: 1,
};
