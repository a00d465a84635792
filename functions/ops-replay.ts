// Operations endpoints for the event-sourced side (function keys in Azure; the ops role):
//   GET  /api/ops/projections                         generations, lag (p50/p99), rebuild progress
//   POST /api/ops/projections/{name}/rebuild          queue a rebuild (202; progress in the GET)
//   POST /api/ops/integration-events/republish        queue a republish of the integration events
//   GET  /api/ops/jobs/{id}                           progress of a queued job
// The jobs run in runOpsJob (ops-jobs queue), so they outlive an HTTP request.
import '@azure/functions-extensions-servicebus';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { messaging } from '../src/composition/ports';
import { complete } from '../src/adapters/service-bus-actions';
import { rawBody, verifiedOrDeadLettered } from '../src/adapters/service-bus-verification';
import { eventSourcing } from '../src/composition/orders';
import { readJsonObject } from '../src/http/requests';
import { errorResponse, json } from '../src/http/responses';
import { secured, type Access } from '../src/http/secured';
import { jobTracker, rebuildJobId, type JobState } from '../src/projections/rebuild';
import { republishIntegrationEvents } from '../src/integration/republish';
import { eventPublisher } from '../src/composition/ports';
import { NotFoundError, ValidationError } from '../src/shared/errors';

export const OPS_JOBS_QUEUE = 'ops-jobs';
export const REPUBLISH_JOB_ID = 'job:republish:integration-events';

type OpsJob = { job: 'rebuild-projection'; projection: string } | { job: 'republish-integration-events'; streamPrefixes?: string[] };

async function enqueue(job: OpsJob, messageId: string): Promise<void> {
  await messaging().send(OPS_JOBS_QUEUE, [{ body: Buffer.from(JSON.stringify(job)), contentType: 'application/json', messageId, subject: job.job }]);
}

function jobView(state: JobState | undefined) {
  if (!state) return undefined;
  const { id, job, phase, done, total, target, startedAt, updatedAt, result, error } = state;
  return { id, job, phase, done, total, ...(target !== undefined ? { generation: target } : {}), startedAt, updatedAt, ...(result ? { result } : {}), ...(error ? { error } : {}) };
}

export async function listProjections(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const es = eventSourcing();
    const projections = await es.readModels.projections();
    const withJobs = await Promise.all(
      projections.map(async (p) => {
        const job = jobView(await es.views.read<JobState>(rebuildJobId(p.name), 'projections'));
        return job ? { ...p, lastRebuild: job } : p;
      }),
    );
    return json(200, { projections: withJobs });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function requestProjectionRebuild(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const name = request.params.name!;
    const entry = await eventSourcing().registry.get(name); // 404 for an unknown projection
    const generation = entry.building ?? entry.active + 1;
    access.note({ generation });
    // One request per generation: a second click within the duplicate-detection window is dropped.
    await enqueue({ job: 'rebuild-projection', projection: name }, `rebuild-${name}-g${generation}`);
    context.log(`Rebuild of ${name} (generation ${generation}) queued`);
    return json(202, { projection: name, status: 'queued', generation, job: rebuildJobId(name) }, { Location: `/api/ops/jobs/${encodeURIComponent(rebuildJobId(name))}` });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function requestRepublish(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const body = await readJsonObject(request);
    const prefixes = body.streamPrefixes;
    if (prefixes !== undefined && (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(p)))) {
      throw new ValidationError('streamPrefixes must be a list of stream id prefixes such as "order-"', 'streamPrefixes');
    }
    access.note({ streamPrefixes: prefixes ?? 'all' });
    await enqueue({ job: 'republish-integration-events', ...(prefixes ? { streamPrefixes: prefixes as string[] } : {}) }, `republish-${Date.now()}`);
    return json(202, { status: 'queued', job: REPUBLISH_JOB_ID }, { Location: `/api/ops/jobs/${encodeURIComponent(REPUBLISH_JOB_ID)}` });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function getJob(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const id = request.params.id!;
    const state = jobView(await eventSourcing().views.read<JobState>(id, 'projections'));
    if (!state || !id.startsWith('job:')) throw new NotFoundError(`No job ${id}`, 'id');
    return json(200, state);
  } catch (error) {
    return errorResponse(error, context);
  }
}

/** The job a message asks for; SDK-type bindings give the body decoded from JSON (or its text). */
function jobOf(message: ServiceBusReceivedMessage): OpsJob | undefined {
  try {
    const body: unknown = typeof message.body === 'string' ? JSON.parse(message.body) : message.body;
    return body as OpsJob;
  } catch {
    return undefined;
  }
}

export async function runOpsJob(serviceBus: ServiceBusMessageContext, context: InvocationContext): Promise<void> {
  const message = serviceBus.messages as ServiceBusReceivedMessage;
  if (!(await verifiedOrDeadLettered(serviceBus, context, OPS_JOBS_QUEUE))) return;
  const job = jobOf(message);
  const es = eventSourcing();
  if (job?.job === 'rebuild-projection') {
    const tracker = jobTracker(es.views, rebuildJobId(job.projection), job.job);
    try {
      const result = await es.rebuild(job.projection, (p) => tracker.progress(p));
      await tracker.completed({ ...result, total: result.streams });
      context.log(`Rebuilt ${job.projection}: generation ${result.generation} from ${result.streams} streams, ${result.events} events in ${result.durationMs} ms`);
    } catch (error) {
      await tracker.failed(error as Error);
      throw error;
    }
  } else if (job?.job === 'republish-integration-events') {
    const tracker = jobTracker(es.views, REPUBLISH_JOB_ID, job.job);
    try {
      const result = await republishIntegrationEvents(es.store, eventPublisher(), { streamPrefixes: job.streamPrefixes, onProgress: (p) => tracker.progress(p) });
      await tracker.completed({ ...result });
      context.log(`Republished ${result.events} integration events of ${result.streams} streams in ${result.durationMs} ms`);
    } catch (error) {
      await tracker.failed(error as Error);
      throw error;
    }
  } else {
    context.error(`Unknown ops job ${JSON.stringify(job ?? rawBody(message).toString('utf8').slice(0, 200))}; dropped`);
  }
  await complete(serviceBus.actions, message);
}

app.http('opsProjections', { methods: ['GET'], route: 'ops/projections', authLevel: 'function', handler: secured('ops.readProjections', listProjections) });
app.http('opsRebuildProjection', { methods: ['POST'], route: 'ops/projections/{name}/rebuild', authLevel: 'function', handler: secured('projection.rebuild', requestProjectionRebuild) });
app.http('opsRepublishIntegrationEvents', { methods: ['POST'], route: 'ops/integration-events/republish', authLevel: 'function', handler: secured('integrationEvents.republish', requestRepublish) });
app.http('opsJob', { methods: ['GET'], route: 'ops/jobs/{id}', authLevel: 'function', handler: secured('ops.readJob', getJob) });
// SDK-type binding: an unsigned message is dead-lettered SignatureInvalid before anything runs.
app.serviceBusQueue('runOpsJob', { connection: 'ServiceBusConnection', queueName: OPS_JOBS_QUEUE, sdkBinding: true, autoCompleteMessages: false, handler: runOpsJob });
