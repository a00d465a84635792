// The FAULT_INJECTION plan: exact targets, wildcards per kind, and the store wrapper that fails
// document operations as Cosmos DB's 503 would.
import { withStoreFaults } from '../../src/adapters/decorators/faulty-documents';
import { withTransientRetries } from '../../src/adapters/decorators/retrying-documents';
import { DocumentStoreError, type DocumentContainer } from '../../src/ports/documents';
import { faultRate, parseFaultPlan, shouldFail } from '../../src/observability/fault-injection';

describe('fault plan', () => {
  const plan = parseFaultPlan(JSON.stringify({ '*': 0.05, 'send:*': 0.1, 'store:*': 0.2, 'send:inbound': 0, routeMessage: 0.5 }));

  test('an exact target wins over its wildcard, even when it is 0', () => {
    expect(faultRate(plan, 'send:inbound')).toBe(0);
    expect(faultRate(plan, 'ROUTEMESSAGE')).toBe(0.5);
  });

  test('each kind has its own wildcard', () => {
    expect(faultRate(plan, 'send:order-commands')).toBe(0.1);
    expect(faultRate(plan, 'store:events')).toBe(0.2);
    expect(faultRate(plan, 'projectEvents')).toBe(0.05);
    expect(faultRate(parseFaultPlan('{"send:*": 1}'), 'projectEvents')).toBe(0);
  });

  test('wildcards can be left out (HTTP functions are failed only when named)', () => {
    expect(faultRate(plan, 'ingestMessage', { wildcard: false })).toBe(0);
    expect(shouldFail(plan, 'routeMessage', () => 0.49, { wildcard: false })).toBe(true);
  });

  test('bad plans are refused with the reason', () => {
    expect(() => parseFaultPlan('{"x": 2}')).toThrow(/rate for x must be a number from 0 to 1/);
    expect(() => parseFaultPlan('[1]')).toThrow(/JSON object/);
    expect(() => parseFaultPlan('{')).toThrow(/must be JSON/);
  });
});

describe('store faults', () => {
  const calls: string[] = [];
  const inner = {
    name: 'events',
    read: async (id: string) => {
      calls.push(`read ${id}`);
      return { id };
    },
  } as unknown as DocumentContainer;
  const previous = process.env.FAULT_INJECTION;
  afterEach(() => {
    if (previous === undefined) delete process.env.FAULT_INJECTION;
    else process.env.FAULT_INJECTION = previous;
  });

  test('a chosen operation fails with 503 before it reaches the store', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ 'store:events': 1 });
    const wrapped = withStoreFaults(inner);
    await expect(wrapped.read('a', 'a')).rejects.toEqual(expect.objectContaining({ code: 503, message: expect.stringMatching(/read on events/) }));
    await expect(wrapped.read('a', 'a')).rejects.toBeInstanceOf(DocumentStoreError);
    expect(calls).toEqual([]);
  });

  test('other containers and a plan without store targets pass through', async () => {
    process.env.FAULT_INJECTION = JSON.stringify({ 'store:views': 1 });
    const wrapped = withStoreFaults(inner);
    expect(await wrapped.read('b', 'b')).toEqual({ id: 'b' });
    expect(wrapped.name).toBe('events');
    expect(calls).toEqual(['read b']);
  });
});

describe('store retries', () => {
  const flaky = (codes: number[]) => {
    const calls: string[] = [];
    const container = {
      name: 'events',
      read: async (id: string) => {
        calls.push(id);
        const code = codes.shift();
        if (code !== undefined) throw new DocumentStoreError(code, `failed with ${code}`);
        return { id };
      },
    } as unknown as DocumentContainer;
    return { calls, container };
  };
  const noWait = async () => undefined;

  test('429, 449 and 503 are tried again, up to the policy, then the caller gets the result', async () => {
    const { calls, container } = flaky([503, 429, 449]);
    expect(await withTransientRetries(container, { retries: 3, firstDelayMs: 1 }, noWait).read('a', 'a')).toEqual({ id: 'a' });
    expect(calls).toEqual(['a', 'a', 'a', 'a']);
  });

  test('past the retries the last error reaches the caller', async () => {
    const { calls, container } = flaky([503, 503, 503]);
    await expect(withTransientRetries(container, { retries: 2, firstDelayMs: 1 }, noWait).read('b', 'b')).rejects.toMatchObject({ code: 503 });
    expect(calls).toHaveLength(3);
  });

  test('errors that say something about the request are not retried (404, 409, 412, 408 — a timeout may have applied a write)', async () => {
    for (const code of [404, 409, 412, 408]) {
      const { calls, container } = flaky([code]);
      await expect(withTransientRetries(container, { retries: 3, firstDelayMs: 1 }, noWait).read('c', 'c')).rejects.toMatchObject({ code });
      expect(calls).toHaveLength(1);
    }
  });
});
