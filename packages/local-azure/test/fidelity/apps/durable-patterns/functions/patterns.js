// The Durable Functions application patterns of Microsoft's docs ("Durable Functions overview":
// chaining, fan-out/fan-in, async HTTP APIs, monitor, human interaction; "Eternal
// orchestrations"; "Handling errors": retries; "HTTP features": callHttp), written for the
// fidelity suite.
const { app } = require('@azure/functions');
const df = require('durable-functions');

df.app.activity('square', { handler: (n) => n * n });

// Fails the first `failures` attempts of each key (kept in this process), then answers.
const attempts = new Map();
df.app.activity('flaky', {
  handler: ({ key, failures }) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (n <= failures) throw new Error(`attempt ${n} of ${key} fails`);
    return `${key} succeeded on attempt ${n}`;
  },
});

df.app.orchestration('fanOutFanIn', function* (context) {
  const n = context.df.getInput();
  const squares = yield context.df.Task.all(Array.from({ length: n }, (_, i) => context.df.callActivity('square', i + 1)));
  return squares.reduce((a, b) => a + b, 0);
});

df.app.orchestration('withRetries', function* (context) {
  const key = context.df.getInput();
  const activity = yield context.df.callActivityWithRetry('flaky', new df.RetryOptions(100, 3), { key: `${key}-activity`, failures: 2 });
  const child = yield context.df.callSubOrchestratorWithRetry('flakyChild', new df.RetryOptions(100, 3), `${key}-child`);
  let exhausted;
  try {
    yield context.df.callActivityWithRetry('flaky', new df.RetryOptions(100, 2), { key: `${key}-never`, failures: 5 });
  } catch (e) {
    exhausted = 'gave up';
  }
  return { activity, child, exhausted };
});

df.app.orchestration('flakyChild', function* (context) {
  // Fails (as a whole) the first two times: the parent's retry starts it again.
  return yield context.df.callActivity('flaky', { key: context.df.getInput(), failures: 2 });
});

// Human interaction: an approval event, or a timeout, whichever comes first.
df.app.orchestration('approval', function* (context) {
  const { timeoutMs } = context.df.getInput();
  const deadline = new Date(context.df.currentUtcDateTime.getTime() + timeoutMs);
  const timer = context.df.createTimer(deadline);
  const approved = context.df.waitForExternalEvent('Approval');
  const winner = yield context.df.Task.any([approved, timer]);
  if (winner === approved) {
    timer.cancel();
    return `approved by ${approved.result.by}`;
  }
  return 'timed out';
});

// Monitor: polls on a timer and continues as new until the condition holds.
df.app.orchestration('monitor', function* (context) {
  const { polls, until } = context.df.getInput();
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 100));
  const value = yield context.df.callActivity('square', polls + 1);
  if (value < until) {
    context.df.continueAsNew({ polls: polls + 1, until });
    return undefined;
  }
  return { polls: polls + 1, value };
});

// Eternal: runs until it is terminated, reporting its generation as custom status.
df.app.orchestration('eternal', function* (context) {
  const generation = context.df.getInput() ?? 0;
  context.df.setCustomStatus({ generation });
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 100));
  context.df.continueAsNew(generation + 1);
});

// callHttp: a plain GET, and a POST answered 202 + Location that must be polled to its end.
df.app.orchestration('callHttp', function* (context) {
  const base = context.df.getInput();
  const plain = yield context.df.callHttp({ method: 'GET', url: `${base}/api/jobs/ping` });
  const job = yield context.df.callHttp({ method: 'POST', url: `${base}/api/jobs`, body: { size: 3 } });
  return { plain: { statusCode: plain.statusCode, content: plain.content }, job: { statusCode: job.statusCode, content: JSON.parse(job.content) } };
});

// A long-running job behind the asynchronous HTTP pattern: 202 + Location until it has been polled twice.
const polls = new Map();
let nextJob = 1;
app.http('jobsStart', {
  route: 'jobs',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request) => {
    const id = String(nextJob++);
    polls.set(id, { polls: 0, size: (await request.json()).size });
    return { status: 202, headers: { Location: `${new URL(request.url).origin}/api/jobs/${id}`, 'Retry-After': '1' } };
  },
});
app.http('jobsStatus', {
  route: 'jobs/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request) => {
    if (request.params.id === 'ping') return { body: 'pong' };
    const job = polls.get(request.params.id);
    if (!job) return { status: 404 };
    job.polls++;
    if (job.polls < 2) return { status: 202, headers: { Location: request.url, 'Retry-After': '1' } };
    return { jsonBody: { id: request.params.id, done: true, polls: job.polls, size: job.size } };
  },
});

app.http('startOrchestration', {
  route: 'orchestrators/{name}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const body = await request.text();
    const instanceId = await client.startNew(request.params.name, body ? { input: JSON.parse(body) } : undefined);
    return client.createCheckStatusResponse(request, instanceId);
  },
});

// Synchronous start: the output when the orchestration ends within the timeout, else the 202 check-status answer.
app.http('startAndWait', {
  route: 'sync/{name}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const body = await request.text();
    const instanceId = await client.startNew(request.params.name, body ? { input: JSON.parse(body) } : undefined);
    const timeoutInMilliseconds = Number(request.query.get('timeout') ?? 10000);
    return client.waitForCompletionOrCreateCheckStatusResponse(request, instanceId, { timeoutInMilliseconds, retryIntervalInMilliseconds: 100 });
  },
});
