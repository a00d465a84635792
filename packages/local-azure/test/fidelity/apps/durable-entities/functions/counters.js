// Durable entities as Microsoft's entity samples use them (a counter; an account pair moved in a
// critical section), written for the fidelity suite: signals from clients and orchestrations,
// calls with answers, state read through the durable client and the HTTP API, locks.
const { app } = require('@azure/functions');
const df = require('durable-functions');

df.app.entity('counter', (context) => {
  const value = context.df.getState(() => 0);
  switch (context.df.operationName) {
    case 'add':
      context.df.setState(value + context.df.getInput());
      break;
    case 'reset':
      context.df.setState(0);
      break;
    case 'get':
      context.df.return(value);
      break;
    case 'addAndTell':
      // An operation that signals another entity.
      context.df.setState(value + context.df.getInput());
      context.df.signalEntity(new df.EntityId('counter', `${context.df.entityKey}-log`), 'add', 1);
      break;
    case 'fail':
      throw new Error('counter refuses');
    case 'delete':
      context.df.destructOnExit();
      break;
  }
});

// Calls (answers awaited) and a signal from an orchestration.
df.app.orchestration('callCounter', function* (context) {
  const id = new df.EntityId('counter', context.df.getInput());
  yield context.df.callEntity(id, 'add', 5);
  context.df.signalEntity(id, 'add', 1);
  const after = yield context.df.callEntity(id, 'get');
  let failure = null;
  try {
    yield context.df.callEntity(id, 'fail');
  } catch (e) {
    failure = 'failed';
  }
  return { after, failure };
});

// Read-modify-write of one counter with a durable timer in between: without the lock two
// instances would both read the same value and one increment would be lost.
df.app.orchestration('incrementSlowly', function* (context) {
  const id = new df.EntityId('counter', context.df.getInput());
  const lock = yield context.df.lock(id);
  try {
    const value = yield context.df.callEntity(id, 'get');
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 500));
    yield context.df.callEntity(id, 'reset');
    yield context.df.callEntity(id, 'add', value + 1);
  } finally {
    lock.release();
  }
  return 'done';
});

// Holds a counter's lock until told to go on.
df.app.orchestration('holdLock', function* (context) {
  const lock = yield context.df.lock(new df.EntityId('counter', context.df.getInput()));
  yield context.df.waitForExternalEvent('go');
  lock.release();
  return 'released';
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

// A client signals an entity and reads its state.
app.http('counterSignal', {
  route: 'counters/{key}/{op}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const body = await request.text();
    await client.signalEntity(new df.EntityId('counter', request.params.key), request.params.op, body ? JSON.parse(body) : undefined);
    return { status: 202 };
  },
});

app.http('counterRead', {
  route: 'counters/{key}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const state = await client.readEntityState(new df.EntityId('counter', request.params.key));
    return { jsonBody: state };
  },
});
