// Tests are TypeScript compiled by `npm run build` (pretest) into dist/test (the app's) and
// packages/local-azure/dist/test (the local Azure's). jest's own module loader bypasses
// Module.prototype.require, so the @azure/functions-core the real worker injects is mapped to
// the local Azure's module here.
//
// Three projects: every test as it is, and the app's end-to-end suites once more in SDK mode
// (LOCAL_AZURE_SDK_MODE=true): the app's own @azure/service-bus, @azure/cosmos and
// @azure/event-hubs clients do its work over the local Azure's wire endpoints, the production
// code path, while the bindings stay with the host. And a third: the order lifecycle, the ESB and
// a crash test with the functions in two worker processes
// (FUNCTIONS_WORKER_PROCESS_COUNT=2), the app's calls crossing each worker's channel to the host.
const shared = {
  testEnvironment: 'node',
  transform: {},
  moduleNameMapper: {
    '^@azure/functions-core$': '<rootDir>/packages/local-azure/dist/src/worker/core-module.js',
  },
};

/** The order lifecycle and projection rebuilds, the saga (happy path, compensations, approval), the ESB and the demo traffic, the crash tests. */
const SDK_MODE_SUITES = ['orders', 'order-saga', 'esb', 'demo', 'crash-recovery', 'event-sourcing-crash', 'saga-crash'];
/**
 * Not order-saga: its simulated participants count attempts in memory, one count per process, so
 * with two processes a "fails twice, then succeeds" participant fails up to four times.
 */
const WORKER_PROCESS_SUITES = ['orders', 'esb', 'crash-recovery'];

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: 'default',
      roots: ['<rootDir>/dist/test', '<rootDir>/packages/local-azure/dist/test'],
      testMatch: ['**/*.test.js'],
    },
    {
      ...shared,
      displayName: 'sdk-mode',
      roots: ['<rootDir>/dist/test/e2e'],
      testMatch: SDK_MODE_SUITES.map((name) => `**/${name}.e2e.test.js`),
      setupFiles: ['<rootDir>/dist/test/support/sdk-mode.js'],
    },
    {
      ...shared,
      displayName: 'worker-processes',
      roots: ['<rootDir>/dist/test/e2e'],
      testMatch: WORKER_PROCESS_SUITES.map((name) => `**/${name}.e2e.test.js`),
      setupFiles: ['<rootDir>/dist/test/support/worker-processes.js'],
    },
  ],
};
