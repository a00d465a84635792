// An app that streams HTTP (app.setup({ enableHttpStream: true }), as the azd HTTP quickstart
// does): a request body read as it arrives, a response body written in pieces; and a function
// that never answers, which host.json's functionTimeout (2 s here) must end.
const { app } = require('@azure/functions');
const { Readable } = require('node:stream');

app.setup({ enableHttpStream: true });

app.http('countBytes', {
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request) => {
    let bytes = 0;
    let chunks = 0;
    for await (const chunk of request.body) {
      bytes += chunk.length;
      chunks++;
    }
    const lines = [`received ${bytes} bytes in ${chunks > 1 ? 'several chunks' : 'one chunk'}\n`, 'part 1\n', 'part 2\n'];
    return { headers: { 'content-type': 'text/plain' }, body: Readable.from(lines) };
  },
});

app.http('greet', { methods: ['GET'], authLevel: 'anonymous', handler: async (request) => ({ body: `hello ${request.query.get('name')} at ${new URL(request.url).host}` }) });

app.http('neverAnswers', { methods: ['GET'], authLevel: 'anonymous', handler: () => new Promise(() => {}) });
