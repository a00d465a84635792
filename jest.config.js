// Tests are TypeScript compiled by `npm run build` (pretest) into dist/test (the app's) and
// packages/local-azure/dist/test (the local Azure's). jest's own module loader bypasses
// Module.prototype.require, so the @azure/functions-core the real worker injects is mapped to
// the local Azure's module here.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test', '<rootDir>/packages/local-azure/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  moduleNameMapper: {
    '^@azure/functions-core$': '<rootDir>/packages/local-azure/dist/src/worker/core-module.js',
  },
  testTimeout: 30_000,
  maxWorkers: 2,
};
