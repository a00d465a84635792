// Operations endpoints for the read models (function keys in Azure):
//   GET  /api/ops/projections                    generations, lag (p50/p99), rebuild progress
//   POST /api/ops/projections/{name}/rebuild     queue a rebuild (202; progress in the GET)
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/adapters/messaging';
import { eventSourcing } from '../src/composition/orders';
import { errorResponse, json } from '../src/http/responses';
import { rebuildStateId, type RebuildState } from '../src/projections/rebuild';

export async function listProjections(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const es = eventSourcing();
    const projections = await es.readModels.projections();
    const withRebuilds = await Promise.all(
      projections.map(async (p) => {
        const rebuild = await es.views.read<RebuildState>(rebuildStateId(p.name), 'projections');
        return rebuild ? { ...p, lastRebuild: { phase: rebuild.phase, generation: rebuild.target, done: rebuild.done, total: rebuild.total, startedAt: rebuild.startedAt, updatedAt: rebuild.updatedAt, ...(rebuild.error ? { error: rebuild.error } : {}), ...(rebuild.result ? { result: rebuild.result } : {}) } } : p;
      }),
    );
    return json(200, { projections: withRebuilds });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function requestProjectionRebuild(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const name = request.params.name!;
    const entry = await eventSourcing().registry.get(name); // 404 for an unknown projection
    // One request per generation: a second click within the duplicate-detection window is dropped.
    await messaging().send('projection-rebuilds', [
      { body: Buffer.from(JSON.stringify({ projection: name })), contentType: 'application/json', messageId: `rebuild-${name}-g${entry.building ?? entry.active + 1}`, subject: 'RebuildProjection' },
    ]);
    context.log(`Rebuild of ${name} requested`);
    return json(202, { projection: name, status: 'queued', generation: entry.building ?? entry.active + 1 }, { Location: '/api/ops/projections' });
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('opsProjections', { methods: ['GET'], route: 'ops/projections', authLevel: 'function', handler: listProjections });
app.http('opsRebuildProjection', { methods: ['POST'], route: 'ops/projections/{name}/rebuild', authLevel: 'function', handler: requestProjectionRebuild });
