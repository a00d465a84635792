// A Service Bus app with no config/ at all: an HTTP function puts orders on a queue, a queue
// trigger forwards each to a topic, a subscription trigger keeps what it saw. On Azure the
// entities exist because someone created them; the embedded host creates what the bindings name.
const { app, output } = require('@azure/functions');

const seen = [];
const toQueue = output.serviceBusQueue({ queueName: 'orders', connection: 'ServiceBusConnection' });
const toTopic = output.serviceBusTopic({ topicName: 'notifications', connection: 'ServiceBusConnection' });

app.http('placeOrder', {
  methods: ['POST'],
  route: 'orders',
  authLevel: 'anonymous',
  extraOutputs: [toQueue],
  handler: async (request, context) => {
    context.extraOutputs.set(toQueue, await request.json());
    return { status: 202 };
  },
});

app.serviceBusQueue('forwardOrder', {
  queueName: 'orders',
  connection: 'ServiceBusConnection',
  extraOutputs: [toTopic],
  handler: async (order, context) => {
    context.extraOutputs.set(toTopic, { ...order, forwarded: true });
  },
});

app.serviceBusTopic('auditOrder', {
  topicName: 'notifications',
  subscriptionName: 'audit',
  connection: 'ServiceBusConnection',
  handler: async (message) => {
    seen.push(message);
  },
});

app.http('audited', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ jsonBody: seen }) });
