// jest's worker-processes project (jest.config.js): every host these suites start — in process or
// as a child process, which inherits the environment — runs the app's functions in two language
// worker processes (FUNCTIONS_WORKER_PROCESS_COUNT), their calls on the local Azure crossing the
// worker's channel to the host.
process.env.FUNCTIONS_WORKER_PROCESS_COUNT = '2';
