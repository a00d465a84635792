// jest's sdk-mode project (jest.config.js): every host these suites start — in process or as a
// child process, which inherits the environment — runs the app's Azure SDK clients against its
// wire endpoints.
process.env.LOCAL_AZURE_SDK_MODE = 'true';
