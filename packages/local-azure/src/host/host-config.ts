// host.json, read as the Functions host reads it: defaults filled in, and any
// AzureFunctionsJobHost__a__b environment variable overriding the property at a.b.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '@backbone/azure-model/durations';
import type { RpcRetryOptions } from '../worker/rpc';
import type { VersioningOptions } from '../durable/versioning';

export interface ServiceBusHostOptions {
  prefetchCount: number;
  maxConcurrentCalls: number;
  maxConcurrentSessions: number;
  maxConcurrentCallsPerSession: number;
  maxMessageBatchSize: number;
  autoCompleteMessages: boolean;
  maxAutoLockRenewalDurationMs: number;
  sessionIdleTimeoutMs: number;
}

export interface EventHubsHostOptions {
  maxEventBatchSize: number;
  batchCheckpointFrequency: number;
  initialOffset: { type: 'fromStart' | 'fromEnd' | 'fromEnqueuedTime'; enqueuedTimeUtc?: number };
}

export interface DurableHostOptions {
  /** extensions.durableTask.hubName, setting expressions unresolved. */
  hubName: string;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
  /** defaultVersion, versionMatchStrategy, versionFailureStrategy (orchestration versioning). */
  versioning: VersioningOptions;
}

export interface HostConfig {
  raw: Record<string, unknown>;
  routePrefix: string;
  logLevels: Record<string, unknown>;
  serviceBus: ServiceBusHostOptions;
  eventHubs: EventHubsHostOptions;
  durableTask: DurableHostOptions;
  functionTimeoutMs: number | undefined;
  /** host.json top-level `retry`, applied to functions that declare none. */
  retry: RpcRetryOptions | undefined;
}

type Json = Record<string, unknown>;

function getCI(obj: Json | undefined, key: string): unknown {
  if (!obj) return undefined;
  const k = Object.keys(obj).find((name) => name.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : obj[k];
}

function coerce(value: string): unknown {
  if (value === 'true' || value === 'false') return value === 'true';
  // A number only when it reads back the same: "2.0" (a version, say) stays a string.
  if (/^-?\d+(\.\d+)?$/.test(value) && String(Number(value)) === value) return Number(value);
  return value;
}

/** Flex Consumption's functionTimeout when host.json sets none (learn.microsoft.com: "Function app timeout duration"). */
export const FLEX_DEFAULT_FUNCTION_TIMEOUT_MS = 30 * 60_000;

export function applyEnvOverrides(doc: Json, env: NodeJS.ProcessEnv): void {
  const prefix = 'azurefunctionsjobhost__';
  for (const [key, value] of Object.entries(env)) {
    if (!key.toLowerCase().startsWith(prefix) || value === undefined) continue;
    const path = key.slice(prefix.length).split('__');
    let node: Json = doc;
    path.forEach((part, i) => {
      const existing = Object.keys(node).find((k) => k.toLowerCase() === part.toLowerCase()) ?? part;
      if (i === path.length - 1) node[existing] = coerce(value);
      else {
        if (typeof node[existing] !== 'object' || node[existing] === null) node[existing] = {};
        node = node[existing] as Json;
      }
    });
  }
}

function durationMs(value: unknown, fallback: number, what: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new Error(`host.json: ${what} must be a TimeSpan string such as "00:05:00"`);
  return parseDuration(value);
}

function toRpcDuration(ms: number) {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function loadHostConfig(appDir: string, env: NodeJS.ProcessEnv, processorCount: number): HostConfig {
  const file = join(appDir, 'host.json');
  const doc: Json = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Json) : { version: '2.0' };
  if (getCI(doc, 'version') !== '2.0') throw new Error('host.json: "version" must be "2.0" (Functions runtime 4.x)');
  applyEnvOverrides(doc, env);
  const extensions = getCI(doc, 'extensions') as Json | undefined;
  const http = getCI(extensions, 'http') as Json | undefined;
  const sb = (getCI(extensions, 'serviceBus') as Json | undefined) ?? {};
  const logging = getCI(doc, 'logging') as Json | undefined;
  const num = (key: string, fallback: number) => {
    const v = getCI(sb, key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`host.json: extensions.serviceBus.${key} must be a non-negative integer`);
    return v;
  };
  const routePrefix = getCI(http, 'routePrefix');
  const eventHubs = loadEventHubsOptions((getCI(extensions, 'eventHubs') as Json | undefined) ?? {});
  const timeout = getCI(doc, 'functionTimeout');
  const retry = getCI(doc, 'retry') as Json | undefined;
  return {
    raw: doc,
    routePrefix: typeof routePrefix === 'string' ? routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    logLevels: ((getCI(logging, 'logLevel') as Json | undefined) ?? {}) as Record<string, unknown>,
    serviceBus: {
      prefetchCount: num('prefetchCount', 0),
      maxConcurrentCalls: Math.max(1, num('maxConcurrentCalls', 16 * processorCount)),
      maxConcurrentSessions: Math.max(1, num('maxConcurrentSessions', 8)),
      maxConcurrentCallsPerSession: Math.max(1, num('maxConcurrentCallsPerSession', 1)),
      maxMessageBatchSize: Math.max(1, num('maxMessageBatchSize', 1000)),
      autoCompleteMessages: getCI(sb, 'autoCompleteMessages') !== false,
      maxAutoLockRenewalDurationMs: durationMs(getCI(sb, 'maxAutoLockRenewalDuration'), 5 * 60_000, 'maxAutoLockRenewalDuration'),
      sessionIdleTimeoutMs: durationMs(getCI(sb, 'sessionIdleTimeout') ?? getCI(getCI(sb, 'clientRetryOptions') as Json | undefined, 'tryTimeout'), 60_000, 'sessionIdleTimeout'),
    },
    eventHubs,
    durableTask: loadDurableOptions((getCI(extensions, 'durableTask') as Json | undefined) ?? {}, processorCount),
    // Flex Consumption's default when host.json says nothing is 30 minutes; -1 is unbounded.
    functionTimeoutMs: timeout === undefined ? FLEX_DEFAULT_FUNCTION_TIMEOUT_MS : timeout === '-1' ? undefined : durationMs(timeout, 0, 'functionTimeout'),
    retry: retry
      ? {
          retryStrategy: String(getCI(retry, 'strategy') ?? 'exponentialBackoff') === 'fixedDelay' ? 'fixedDelay' : 'exponentialBackoff',
          maxRetryCount: Number(getCI(retry, 'maxRetryCount')),
          delayInterval: getCI(retry, 'delayInterval') ? toRpcDuration(durationMs(getCI(retry, 'delayInterval'), 0, 'retry.delayInterval')) : undefined,
          minimumInterval: getCI(retry, 'minimumInterval') ? toRpcDuration(durationMs(getCI(retry, 'minimumInterval'), 0, 'retry.minimumInterval')) : undefined,
          maximumInterval: getCI(retry, 'maximumInterval') ? toRpcDuration(durationMs(getCI(retry, 'maximumInterval'), 0, 'retry.maximumInterval')) : undefined,
        }
      : undefined,
  };
}

/** extensions.eventHubs with the defaults of the Event Hubs extension 6.x (extension bundle 4). */
function loadEventHubsOptions(eh: Json): EventHubsHostOptions {
  const positive = (key: string, fallback: number) => {
    const v = getCI(eh, key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`host.json: extensions.eventHubs.${key} must be a positive integer`);
    return v;
  };
  const offset = (getCI(eh, 'initialOffsetOptions') as Json | undefined) ?? {};
  const type = String(getCI(offset, 'type') ?? 'fromStart').toLowerCase();
  const types = { fromstart: 'fromStart', fromend: 'fromEnd', fromenqueuedtime: 'fromEnqueuedTime' } as const;
  const resolved = types[type as keyof typeof types];
  if (!resolved) throw new Error(`host.json: extensions.eventHubs.initialOffsetOptions.type must be fromStart, fromEnd or fromEnqueuedTime`);
  let enqueuedTimeUtc: number | undefined;
  if (resolved === 'fromEnqueuedTime') {
    enqueuedTimeUtc = Date.parse(String(getCI(offset, 'enqueuedTimeUtc') ?? ''));
    if (Number.isNaN(enqueuedTimeUtc)) throw new Error('host.json: initialOffsetOptions.enqueuedTimeUtc is required for fromEnqueuedTime');
  }
  return {
    maxEventBatchSize: positive('maxEventBatchSize', 100),
    batchCheckpointFrequency: positive('batchCheckpointFrequency', 1),
    initialOffset: { type: resolved, ...(enqueuedTimeUtc !== undefined ? { enqueuedTimeUtc } : {}) },
  };
}

/** extensions.durableTask with the extension's defaults (10 × processors for each concurrency). */
function loadDurableOptions(dt: Json, processorCount: number): DurableHostOptions {
  const positive = (key: string, fallback: number) => {
    const v = getCI(dt, key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`host.json: extensions.durableTask.${key} must be a positive integer`);
    return v;
  };
  const hub = getCI(dt, 'hubName');
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = getCI(dt, key);
    if (v === undefined || v === null) return fallback;
    const match = allowed.find((a) => typeof v === 'string' && a.toLowerCase() === v.toLowerCase());
    if (!match) throw new Error(`host.json: extensions.durableTask.${key} must be one of ${allowed.join(', ')}`);
    return match;
  };
  const defaultVersion = getCI(dt, 'defaultVersion');
  if (defaultVersion !== undefined && defaultVersion !== null && typeof defaultVersion !== 'string') throw new Error('host.json: extensions.durableTask.defaultVersion must be a string');
  return {
    hubName: typeof hub === 'string' && hub ? hub : 'TestHubName',
    maxConcurrentActivityFunctions: positive('maxConcurrentActivityFunctions', 10 * processorCount),
    maxConcurrentOrchestratorFunctions: positive('maxConcurrentOrchestratorFunctions', 10 * processorCount),
    versioning: {
      ...(defaultVersion ? { defaultVersion } : {}),
      matchStrategy: oneOf('versionMatchStrategy', ['None', 'Strict', 'CurrentOrOlder'] as const, 'CurrentOrOlder'),
      failureStrategy: oneOf('versionFailureStrategy', ['Reject', 'Fail'] as const, 'Reject'),
    },
  };
}
