// A v4 Node.js Durable Functions app of the shape Microsoft's samples have (function chaining,
// a sub-orchestration, continue-as-new), written for the fidelity suite: string inputs must reach
// activities and new executions as the strings they are.
const { app } = require('@azure/functions');
const df = require('durable-functions');

df.app.activity('sayHello', { handler: (city) => `Hello ${city}` });

df.app.orchestration('helloCities', function* (context) {
  const outputs = [];
  outputs.push(yield context.df.callActivity('sayHello', 'Tokyo'));
  outputs.push(yield context.df.callActivityWithRetry('sayHello', new df.RetryOptions(1000, 2), 'Seattle'));
  outputs.push(yield context.df.callSubOrchestrator('helloOne', 'London'));
  return outputs;
});

df.app.orchestration('helloOne', function* (context) {
  return yield context.df.callActivity('sayHello', context.df.getInput());
});

// Grows its string input by one letter per execution until it has three.
df.app.orchestration('growString', function* (context) {
  const text = context.df.getInput();
  if (text.length < 3) {
    context.df.continueAsNew(`${text}a`);
    return undefined;
  }
  return text;
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
