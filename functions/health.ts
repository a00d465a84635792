// GET /api/health — liveness plus a round trip to the messaging namespace. Anonymous on purpose:
// probes and load balancers call it without keys, and it reveals no data.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/composition/ports';
import { json } from '../src/http/responses';

const startedAt = new Date();

export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const started = performance.now();
  let check: { status: 'Healthy' | 'Unhealthy'; adapter?: string; durationMs: number; error?: string };
  try {
    const port = messaging();
    await port.probe();
    check = { status: 'Healthy', adapter: port.kind, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    context.warn(`Health check: messaging unavailable: ${(error as Error).message}`);
    check = { status: 'Unhealthy', durationMs: Math.round(performance.now() - started), error: (error as Error).message };
  }
  const status = check.status === 'Healthy' ? 'Healthy' : 'Unhealthy';
  return json(status === 'Healthy' ? 200 : 503, {
    status,
    checks: { messaging: check },
    startedAt: startedAt.toISOString(),
    time: new Date().toISOString(),
  });
}

app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'anonymous',
  handler: health,
});
