import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retryDelayMs } from '../../src/host/executor';
import { loadHostConfig } from '../../src/host/host-config';
import { HostLogger, type LogRecord } from '../../src/host/logger';
import { connectionConfigured, loadLocalSettings, resolveSettingExpression } from '../../src/host/settings';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostcfg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('host.json', () => {
  test('defaults match the Service Bus extension; values and AzureFunctionsJobHost__ overrides apply', () => {
    writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0', extensions: { serviceBus: { maxConcurrentCalls: 4, maxAutoLockRenewalDuration: '00:02:00' } } }));
    const cfg = loadHostConfig(dir, { AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentSessions: '3', AzureFunctionsJobHost__extensions__http__routePrefix: 'v1' }, 2);
    expect(cfg.serviceBus).toMatchObject({ maxConcurrentCalls: 4, maxConcurrentSessions: 3, maxMessageBatchSize: 1000, autoCompleteMessages: true, maxAutoLockRenewalDurationMs: 120_000 });
    expect(cfg.routePrefix).toBe('v1');
    const defaults = loadHostConfig(dir, {}, 2);
    expect(defaults.serviceBus.maxConcurrentSessions).toBe(8);
    rmSync(join(dir, 'host.json'));
    expect(loadHostConfig(dir, {}, 2).serviceBus.maxConcurrentCalls).toBe(32); // 16 × processors
  });

  test('durableTask versioning: the extension defaults, the repo host.json, and an override that keeps "2.0" a string', () => {
    writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0' }));
    expect(loadHostConfig(dir, {}, 2).durableTask.versioning).toEqual({ matchStrategy: 'CurrentOrOlder', failureStrategy: 'Reject' });
    const overridden = loadHostConfig(
      dir,
      { AzureFunctionsJobHost__extensions__durableTask__defaultVersion: '2.0', AzureFunctionsJobHost__extensions__durableTask__versionFailureStrategy: 'fail' },
      2,
    );
    expect(overridden.durableTask.versioning).toEqual({ defaultVersion: '2.0', matchStrategy: 'CurrentOrOlder', failureStrategy: 'Fail' });
    // The app of this repository (its host.json) sets defaultVersion 1.0.
    expect(loadHostConfig(join(__dirname, '..', '..', '..', '..', '..'), {}, 2).durableTask.versioning).toEqual({ defaultVersion: '1.0', matchStrategy: 'CurrentOrOlder', failureStrategy: 'Reject' });
  });

  test('a version other than 2.0 is refused', () => {
    writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '1.0' }));
    expect(() => loadHostConfig(dir, {}, 2)).toThrow(/2\.0/);
  });
});

describe('local.settings.json, as func start reads it', () => {
  test('Values fill the environment but never replace a non-empty variable', () => {
    writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ Values: { A: 'local', B: 'local', C: 'local', N: null } }));
    const env: NodeJS.ProcessEnv = { B: 'env', C: '' };
    const warnings: string[] = [];
    loadLocalSettings(dir, env, (w) => warnings.push(w));
    expect(env).toEqual({ A: 'local', B: 'env', C: 'local' });
    expect(warnings).toContain("Skipping 'B' from local settings as it's already defined in current environment variables.");
    expect(warnings).toContain("Skipping 'N' because value is null");
  });

  test('%Name% expressions resolve from settings; a missing or unclosed one fails clearly', () => {
    expect(resolveSettingExpression('%Q%-%R%', { Q: 'orders', R: 'v2' })).toBe('orders-v2');
    expect(() => resolveSettingExpression('%MISSING%', {})).toThrow("'%MISSING%' does not resolve to a value.");
    expect(() => resolveSettingExpression('abc%', {})).toThrow("does not have a closing '%'");
  });

  test('a connection is configured by its own setting or identity-based sub-settings', () => {
    expect(connectionConfigured('SB', { SB: 'UseEmbeddedHost=true' })).toBe(true);
    expect(connectionConfigured('SB', { SB__fullyQualifiedNamespace: 'x.servicebus.windows.net' })).toBe(true);
    expect(connectionConfigured('SB', { OTHER: 'x' })).toBe(false);
  });
});

describe('retry policies', () => {
  const ms = (n: number) => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1e6 });
  test('fixedDelay waits delayInterval every time', () => {
    expect([1, 2, 5].map((k) => retryDelayMs({ retryStrategy: 'fixedDelay', delayInterval: ms(2500) }, k))).toEqual([2500, 2500, 2500]);
  });

  test('exponentialBackoff: min first, then min + (0.8..1.2)·2^(k-1)·min, capped at max', () => {
    const policy = { retryStrategy: 'exponentialBackoff' as const, minimumInterval: ms(1000), maximumInterval: ms(10_000) };
    const low = () => 0;
    const high = () => 0.999999;
    expect(retryDelayMs(policy, 1, low)).toBe(1000);
    expect(retryDelayMs(policy, 2, low)).toBeCloseTo(1000 + 0.8 * 2 * 1000);
    expect(retryDelayMs(policy, 2, high)).toBeCloseTo(1000 + 1.2 * 2 * 1000, 0);
    expect(retryDelayMs(policy, 3, low)).toBeCloseTo(1000 + 0.8 * 4 * 1000);
    expect(retryDelayMs(policy, 10, high)).toBe(10_000);
  });
});

describe('host logger', () => {
  test('host.json logLevel filters by the longest matching category prefix', () => {
    const out: LogRecord[] = [];
    const logger = new HostLogger({ default: 'Warning', Function: 'Information', 'Function.noisy': 'Error' }, (r) => out.push(r));
    logger.log('information', 'Host.Startup', 'hidden');
    logger.log('information', 'Function.orders', 'shown');
    logger.log('warning', 'Function.noisy', 'hidden too');
    logger.log('error', 'Function.noisy.User', 'shown too');
    expect(out.map((r) => r.message)).toEqual(['shown', 'shown too']);
  });
});
