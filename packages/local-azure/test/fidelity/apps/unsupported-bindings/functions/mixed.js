// An app with functions whose bindings the embedded host does not serve (a blob output, a Twilio
// output, a Storage queue trigger) beside one it does: on Azure the others run; so must they here.
const { app, output } = require('@azure/functions');

app.http('hello', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ body: 'hello' }) });

const blob = output.storageBlob({ path: 'uploads/{rand-guid}.txt', connection: 'AzureWebJobsStorage' });
app.http('saveUpload', {
  methods: ['POST'],
  route: 'uploads',
  authLevel: 'anonymous',
  extraOutputs: [blob],
  handler: async (request, context) => {
    context.extraOutputs.set(blob, await request.text());
    return { status: 201 };
  },
});

const sms = output.generic({ type: 'twilioSms', accountSidSetting: 'TwilioAccountSid', authTokenSetting: 'TwilioAuthToken', from: '+15555550100' });
app.http('sendSms', { methods: ['POST'], route: 'sms', authLevel: 'anonymous', extraOutputs: [sms], handler: async () => ({ status: 202 }) });

app.storageQueue('resize', { queueName: 'images', connection: 'AzureWebJobsStorage', handler: async () => undefined });
