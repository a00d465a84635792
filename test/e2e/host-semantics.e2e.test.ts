// The embedded host plays the Functions host's part the way Azure does: routes, triggers,
// settlement, sessions, batches, output bindings, timers, retry policies and hooks — checked
// with a fixture app written against the real @azure/functions library.
import { join } from 'node:path';
import { repoRoot } from '../support/messaging-harness';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');

interface Call {
  fn: string;
  message?: unknown;
  metadata?: Record<string, unknown>;
  invocationId?: string;
  retryContext?: { retryCount: number; maxRetryCount: number; exception?: { message?: string } };
}
interface Fixture {
  calls: Call[];
  concurrency: { current: number; max: number };
}
const fixture = () => (globalThis as unknown as { __fixture: Fixture }).__fixture;
const calls = (fn: string) => fixture().calls.filter((c) => c.fn === fn);

let running: RunningHost;
const enqueue = (queue: string, bodies: unknown[], extra: Record<string, unknown> = {}) =>
  running.host.broker.send(
    queue,
    bodies.map((b, i) => ({ body: Buffer.from(typeof b === 'string' ? b : JSON.stringify(b)), messageId: `${queue}-${i}-${Date.now()}`, ...extra })),
  );

beforeAll(async () => {
  process.env.FIXTURE_OVERRIDDEN = 'from-environment';
  running = await startHost(appDir);
});
afterAll(async () => {
  await running.stop();
  delete process.env.FIXTURE_OVERRIDDEN;
});

describe('HTTP triggers', () => {
  test('routes match under the api prefix with parameters, constraints, catch-all, query and body', async () => {
    const res = await postJson(running.url('/api/echo/42/a/b/c?x=1&y=two'), 'hello', { 'x-fixture': 'yes', 'content-type': 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: '42',
      rest: 'a/b/c',
      method: 'POST',
      query: { x: '1', y: 'two' },
      body: 'hello',
      header: 'yes',
      functionName: 'echo',
    });
  });

  test('local.settings.json Values become settings, but never override the environment', async () => {
    const res = await fetch(running.url('/api/echo/1/x'));
    expect(await res.json()).toMatchObject({ setting: 'from-local-settings', overridden: 'from-environment' });
  });

  test('a route constraint that fails, a wrong method or an unknown path is 404', async () => {
    expect((await fetch(running.url('/api/echo/notanumber/x'))).status).toBe(404);
    expect((await fetch(running.url('/api/echo/1/x'), { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(running.url('/api/nothing-here'))).status).toBe(404);
    expect((await fetch(running.url('/echo/1/x'))).status).toBe(404);
  });

  test('a literal segment wins over a parameter', async () => {
    expect(await (await fetch(running.url('/api/items/special'))).text()).toBe('literal');
    expect(await (await fetch(running.url('/api/items/7'))).text()).toBe('id:7');
  });

  test('a function that throws answers an empty 500, as the Functions host does', async () => {
    const res = await fetch(running.url('/api/boom'));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    expect(running.logs.some((l) => l.level === 'error' && l.message.includes("Executed 'Functions.boom' (Failed"))).toBe(true);
  });

  test('startup lists every function and the URL of each HTTP function', () => {
    const echo = running.host.functions.find((f) => f.name === 'echo')!;
    expect(echo.url).toBe(`${running.host.baseUrl}/api/echo/{id:int}/{*rest}`);
    expect(running.logs.some((l) => l.message.includes(`echo: [GET,POST] ${running.host.baseUrl}/api/echo/`))).toBe(true);
  });
});

describe('Service Bus triggers', () => {
  test('success completes the message; the handler sees the body and the trigger metadata Azure passes', async () => {
    await running.host.broker.send('work', [
      {
        body: Buffer.from(JSON.stringify({ orderId: 'o-1', messageId: 'from-body' })),
        messageId: 'm-work-1',
        correlationId: 'c-1',
        contentType: 'application/json',
        subject: 'OrderPlaced',
        applicationProperties: { region: 'EU' },
      },
    ]);
    const call = await waitFor(() => calls('work').find((c) => (c.message as { orderId?: string }).orderId === 'o-1'), 'the work function');
    expect(call.message).toEqual({ orderId: 'o-1', messageId: 'from-body' });
    expect(call.metadata).toMatchObject({
      deliveryCount: 1, // the .NET view: first delivery is 1
      correlationId: 'c-1',
      contentType: 'application/json',
      subject: 'OrderPlaced',
      label: 'OrderPlaced',
      sequenceNumber: expect.any(Number),
      applicationProperties: { region: 'EU' },
      orderId: 'o-1', // body properties leak into trigger metadata, as on Azure
      messageId: 'from-body', // ...and override the system value of the same name
    });
    expect(String(call.metadata!.enqueuedTimeUtc)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/); // no zone, as Azure sends it
    expect(String(call.metadata!.enqueuedTime)).toMatch(/\+00:00$/);
    await waitFor(
      () => running.host.broker.runtimeProperties('work').kind === 'queue' && (running.host.broker.runtimeProperties('work') as { totalMessageCount: number }).totalMessageCount === 0,
      'the message to be completed',
    );
  });

  test('a handler that always throws: abandoned each time, dead-lettered after maxDeliveryCount', async () => {
    await running.host.broker.send('poison', [{ body: Buffer.from('{"bad":true}'), messageId: 'poison-1' }]);
    const dead = await waitFor(() => running.host.broker.peek('poison/$deadletterqueue', { maxMessageCount: 5 })[0], 'the dead letter');
    expect(dead).toMatchObject({
      messageId: 'poison-1',
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
    });
    expect(calls('alwaysFails').map((c) => c.metadata!.deliveryCount)).toEqual([1, 2, 3]);
  });

  test('session messages are handled in order per session', async () => {
    for (let i = 0; i < 5; i++) {
      await running.host.broker.send('ordered', [
        { body: Buffer.from(JSON.stringify({ session: 'A', n: i })), messageId: `A-${i}`, sessionId: 'A' },
        { body: Buffer.from(JSON.stringify({ session: 'B', n: i })), messageId: `B-${i}`, sessionId: 'B' },
      ]);
    }
    await waitFor(() => calls('ordered').length >= 10, 'ten session messages');
    for (const session of ['A', 'B']) {
      const seen = calls('ordered')
        .map((c) => c.message as { session: string; n: number })
        .filter((m) => m.session === session)
        .map((m) => m.n);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    }
    expect(calls('ordered').every((c) => c.metadata!.sessionId === (c.message as { session: string }).session)).toBe(true);
  });

  test('cardinality many gets batches as arrays, with array metadata', async () => {
    await enqueue('batched', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    await waitFor(() => calls('batched').flatMap((c) => c.message as unknown[]).length >= 3, 'three batched messages');
    const all = calls('batched').flatMap((c) => c.message as { n: number }[]);
    expect(all.map((m) => m.n).sort()).toEqual([1, 2, 3]);
    const first = calls('batched')[0]!;
    expect(Array.isArray(first.metadata!.messageIdArray)).toBe(true);
    expect(first.metadata!.deliveryCountArray).toEqual((first.message as unknown[]).map(() => 1));
  });

  test('no more than maxConcurrentCalls messages are processed at once, and more than one is', async () => {
    await enqueue(
      'slow',
      Array.from({ length: 16 }, (_, i) => ({ i })),
    );
    await waitFor(() => calls('slow').length >= 16, 'sixteen slow messages', 20_000);
    expect(fixture().concurrency.max).toBeLessThanOrEqual(4);
    expect(fixture().concurrency.max).toBeGreaterThan(1);
  });
});

describe('Service Bus SDK-type bindings (sdkBinding: true)', () => {
  const send = (id: string, action: string) =>
    running.host.broker.send('sdk', [{ body: Buffer.from(JSON.stringify({ action })), messageId: id, contentType: 'application/json', applicationProperties: { tag: 'x' } }]);
  const sdkCalls = (id: string) => calls('sdkSettles').filter((c) => (c.message as { messageId: string }).messageId === id);

  test('the function gets a ServiceBusReceivedMessage and completes it through the actions', async () => {
    await send('sdk-complete', 'complete');
    const call = await waitFor(() => sdkCalls('sdk-complete')[0], 'the SDK-bound function');
    expect(call.message).toMatchObject({ body: { action: 'complete' }, deliveryCount: 0, props: { tag: 'x' }, sequenceNumber: expect.any(Number) });
    expect((call.message as { lockToken: string }).lockToken).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => running.host.broker.peek('sdk', { maxMessageCount: 50 }).every((m) => m.messageId !== 'sdk-complete'), 'the message to be gone');
  });

  test('dead-lettering through the actions keeps the reason and description', async () => {
    await send('sdk-dead', 'deadletter');
    const dead = await waitFor(() => running.host.broker.peek('sdk/$deadletterqueue', { maxMessageCount: 50 }).find((m) => m.messageId === 'sdk-dead'), 'the dead letter');
    expect(dead).toMatchObject({ deadLetterReason: 'NoRouteMatched', deadLetterErrorDescription: 'no route for this one' });
    expect(sdkCalls('sdk-dead')).toHaveLength(1); // settled by the function: the host did not abandon it
  });

  test('the preview extension cannot serialize plain-string reasons (as on Azure): the call fails and the host abandons', async () => {
    await send('sdk-plain', 'deadletter-plain-strings');
    const dead = await waitFor(() => running.host.broker.peek('sdk/$deadletterqueue', { maxMessageCount: 50 }).find((m) => m.messageId === 'sdk-plain'), 'the dead letter');
    expect(dead.deadLetterReason).toBe('MaxDeliveryCountExceeded');
  });

  test('a deferred message stays deferred', async () => {
    await send('sdk-defer', 'defer');
    const deferred = await waitFor(() => running.host.broker.peek('sdk', { maxMessageCount: 50 }).find((m) => m.messageId === 'sdk-defer' && m.state === 'deferred'), 'the deferred message');
    expect(deferred.deliveryCount).toBe(1);
  });

  test('a function that throws before settling: the host abandons, then dead-letters after maxDeliveryCount', async () => {
    await send('sdk-throw', 'throw');
    const dead = await waitFor(() => running.host.broker.peek('sdk/$deadletterqueue', { maxMessageCount: 50 }).find((m) => m.messageId === 'sdk-throw'), 'the dead letter');
    expect(dead.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(sdkCalls('sdk-throw').map((c) => (c.message as { deliveryCount: number }).deliveryCount)).toEqual([0, 1]);
  });
});

describe('Service Bus output binding', () => {
  test('an object is sent as a JSON message, text/plain, with the parent invocation id', async () => {
    const res = await postJson(running.url('/api/send'), { value: { sku: 'A-1', qty: 2 } });
    expect(res.status).toBe(202);
    const call = await waitFor(() => calls('outputSink').find((c) => (c.message as { sku?: string })?.sku === 'A-1'), 'the output message');
    expect(call.metadata).toMatchObject({ contentType: 'text/plain' });
    expect(Object.keys(call.metadata!.applicationProperties as object)).toContain('$AzureWebJobsParentId');
  });

  test('an array becomes one message per element', async () => {
    await postJson(running.url('/api/send'), { value: [{ part: 1 }, { part: 2 }, 'plain text'] });
    await waitFor(() => calls('outputSink').filter((c) => (c.message as { part?: number })?.part || c.message === 'plain text').length >= 3, 'three messages');
    expect(calls('outputSink').some((c) => c.message === 'plain text')).toBe(true);
  });
});

describe('timers, retry policies and hooks', () => {
  test('runOnStartup runs a timer at startup with the TimerInfo shape Azure passes', async () => {
    const call = await waitFor(() => calls('startupTimer')[0], 'the startup run');
    expect(call.message).toMatchObject({ schedule: { adjustForDST: true }, isPastDue: false });
  });

  test('a retry policy re-runs a failing function with a retry context, up to maxRetryCount', async () => {
    await waitFor(() => calls('retryingTimer').length >= 3, 'three attempts');
    const attempts = calls('retryingTimer');
    expect(attempts.map((a) => a.retryContext?.retryCount)).toEqual([0, 1, 2]);
    expect(attempts.every((a) => a.retryContext?.maxRetryCount === 2)).toBe(true);
    expect(attempts[1]!.retryContext!.exception?.message).toBe('timer failure');
    expect(new Set(attempts.map((a) => a.invocationId)).size).toBe(3); // a new invocation per attempt
    expect(running.logs.some((l) => l.message.includes("Function execution failed after '2' retries."))).toBe(true);
  });

  test('preInvocation hooks run before every function', () => {
    const hooked = fixture()
      .calls.filter((c) => c.fn === 'preInvocationHook')
      .map((c) => c.message);
    expect(hooked).toEqual(expect.arrayContaining(['echo', 'work', 'startupTimer']));
  });
});
