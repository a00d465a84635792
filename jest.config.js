// Tests are TypeScript compiled by `npm run build` (pretest) into dist/test, so tests, app and
// embedded host share one module graph. jest's own module loader bypasses Module.prototype.require,
// so the @azure/functions-core the real worker injects is mapped to the embedded host's module here.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  moduleNameMapper: {
    '^@azure/functions-core$': '<rootDir>/dist/src/embedded/worker/core-module.js',
  },
  testTimeout: 30_000,
  maxWorkers: 2,
};
