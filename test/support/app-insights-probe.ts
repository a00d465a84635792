// Runs in a child process (so NODE_TLS_REJECT_UNAUTHORIZED applies to it alone, and its
// OpenTelemetry globals are its own): a local HTTPS ingestion endpoint with a self-signed
// certificate, Application Insights started as functions/telemetry.ts starts it, pointed there,
// 20 traced transactions and two metrics — then prints every envelope received as JSON.
// With `sampled` as its argument: TELEMETRY_SAMPLING_RATIO 0.1 and 200 transactions, each with a
// log record, every 20th dead-lettered (its esb.route span marked as an error after its send).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { startAzureMonitor } from '../../src/observability/azure-monitor';
import { count, observe } from '../../src/observability/metrics';
import { context } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { inSpan, markActiveSpan, SpanKind } from '../../src/observability/tracing';

async function main(): Promise<void> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048 });
  const received: unknown[] = [];
  const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString().trim();
      const items = text.startsWith('[')
        ? (JSON.parse(text) as unknown[])
        : text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as unknown);
      received.push(...items);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  // A connection string naming the local endpoint; its key is a fresh random id, not a resource's.
  const settings = { InstrumentationKey: randomUUID(), IngestionEndpoint: `https://127.0.0.1:${port}/` };
  const connectionString = Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  const sampled = process.argv[2] === 'sampled';
  const monitor = startAzureMonitor({ APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString, ...(sampled ? { TELEMETRY_SAMPLING_RATIO: '0.1' } : {}) });
  const transactions = sampled ? 200 : 20;
  for (let i = 0; i < transactions; i++) {
    await inSpan('routeMessage', { kind: SpanKind.SERVER, correlationId: `corr-ai-${i}` }, () =>
      inSpan('esb.route', {}, async () => {
        await inSpan('send order-commands', { kind: SpanKind.PRODUCER }, async () => undefined);
        if (!sampled) return;
        logs
          .getLogger('probe')
          .emit({ body: `routed corr-ai-${i}`, severityNumber: SeverityNumber.INFO, severityText: 'information', context: context.active(), attributes: { correlationId: `corr-ai-${i}` } });
        if (i % 20 === 7) markActiveSpan('error', 'NoRouteMatched: no route for this message', { 'esb.deadletter.reason': 'NoRouteMatched' });
      }),
    );
  }
  count('esb.deadletters', { reason: 'NoRouteMatched', category: 'BUSINESS_RULE' });
  observe('saga.step.duration', 42, { saga: 'orderFulfilmentSaga', step: 'confirmOrder', outcome: 'completed' });
  await monitor.flush();
  const deadline = Date.now() + 15_000;
  const requests = () => received.filter((e) => (e as { data: { baseType: string } }).data.baseType === 'RequestData').length;
  const done = () => (sampled ? requests() >= 10 : requests() >= 20) && received.some((e) => (e as { data: { baseType: string } }).data.baseType === 'MetricData');
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // Sampled: the kept traces and the sampled ones come in separate batches; wait for a quiet 500 ms.
  for (let seen = -1; sampled && seen !== received.length && Date.now() < deadline;) {
    seen = received.length;
    await monitor.flush();
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(`${JSON.stringify(received)}\n`);
  await monitor.shutdown().catch(() => undefined);
  server.close();
  process.exit(0);
}

void main();
