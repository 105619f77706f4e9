/** Tests run TypeScript through swc (type-checking is `npm run typecheck`, which `npm test` runs first). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 120000,
  // Model tests load TensorFlow.js WASM; one worker keeps memory and CPU predictable on a 2-core machine.
  maxWorkers: 1,
};
