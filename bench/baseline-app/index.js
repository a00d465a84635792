// The start-up benchmark's baseline (npm run bench:startup): the smallest v4 app — one HTTP
// function and nothing but @azure/functions — loaded the way the worker loads ours.
const { app } = require('@azure/functions');

app.http('hello', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({ body: 'hello' }),
});
