// An app run in two language worker processes (FUNCTIONS_WORKER_PROCESS_COUNT=2). Each function
// says which process ran it; what a test must see across processes goes to a journal file (the
// folder in WORKER_FIXTURE_DIR), since each process has its own memory.
const { appendFileSync, existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { app, output } = require('@azure/functions');
const df = require('durable-functions');

const dir = process.env.WORKER_FIXTURE_DIR;
const journal = (line) => dir && appendFileSync(join(dir, 'journal.txt'), `${line}\n`);

app.hook.appStart(() => journal(`start ${process.pid}`));
app.hook.appTerminate(() => journal(`terminate ${process.pid}`));

app.http('whichProcess', {
  route: 'pid',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (_request, context) => {
    context.log(`handled in process ${process.pid}`);
    return { jsonBody: { pid: process.pid } };
  },
});

// A worker that dies under an HTTP invocation.
app.http('crash', { methods: ['POST'], authLevel: 'anonymous', handler: async () => process.exit(3) });

const toJobs = output.serviceBusQueue({ queueName: 'jobs', connection: 'ServiceBusConnection' });
app.http('submitJob', {
  route: 'jobs',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraOutputs: [toJobs],
  handler: async (request, context) => {
    context.extraOutputs.set(toJobs, await request.json());
    return { status: 202 };
  },
});

// The first delivery of a job marked crashOnce kills its worker process mid-message: the message
// must come again (abandoned, then redelivered) to the process started in its place or the other.
app.serviceBusQueue('runJob', {
  queueName: 'jobs',
  connection: 'ServiceBusConnection',
  handler: async (job, context) => {
    const marker = dir && join(dir, `crashed-${job.id}`);
    if (job.crashOnce && marker && !existsSync(marker)) {
      writeFileSync(marker, String(process.pid));
      process.exit(4);
    }
    journal(`job ${job.id} ${process.pid} ${context.triggerMetadata.deliveryCount}`);
  },
});

df.app.activity('activityProcess', { handler: () => process.pid });

df.app.orchestration('whichProcesses', function* (context) {
  const n = context.df.getInput();
  return yield context.df.Task.all(Array.from({ length: n }, () => context.df.callActivity('activityProcess')));
});

// The process running this orchestrator's first episode dies: the episode is not recorded, and it
// runs again in a process that lives (the orchestration completes; it does not fail).
df.app.orchestration('survivesCrash', function* (context) {
  const marker = dir && join(dir, `crashed-${context.df.instanceId}`);
  if (marker && !existsSync(marker)) {
    writeFileSync(marker, String(process.pid));
    process.exit(5);
  }
  return { pid: yield context.df.callActivity('activityProcess') };
});

app.http('startOrchestration', {
  route: 'orchestrators/{name}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const instanceId = await client.startNew(request.params.name, { input: await request.json() });
    return client.createCheckStatusResponse(request, instanceId);
  },
});
