// Starts the embedded host in-process for end-to-end tests: a free port, an in-memory database,
// host logs captured for the test to read.
import { EventType } from '@backbone/local-azure/durable/history';
import assert from 'node:assert/strict';
import { EmbeddedHost, type EmbeddedHostOptions } from '@backbone/local-azure/host/host';
import type { LogRecord } from '@backbone/local-azure/host/logger';

export interface RunningHost {
  host: EmbeddedHost;
  logs: LogRecord[];
  url(path: string): string;
  stop(): Promise<void>;
}

export async function startHost(appDir: string, options: Partial<EmbeddedHostOptions> = {}): Promise<RunningHost> {
  const logs: LogRecord[] = [];
  const host = await EmbeddedHost.start({
    appDir,
    database: ':memory:',
    port: 0,
    logWriter: (r) => {
      logs.push(r);
      if (process.env.HOST_LOGS) process.stdout.write(`[${r.level}] ${r.message}\n`);
    },
    ...options,
  });
  // A suite meant for SDK mode (jest's sdk-mode project) that did not get it would prove nothing.
  if ((options.sdkMode ?? process.env.LOCAL_AZURE_SDK_MODE === 'true') && !logs.some((r) => r.message.startsWith('SDK mode: '))) {
    await host.stop();
    assert.fail('the host did not point any connection at its wire endpoints (SDK mode)');
  }
  // Likewise a suite meant for worker processes (jest's worker-processes project).
  const workers = Number(options.env?.FUNCTIONS_WORKER_PROCESS_COUNT ?? process.env.FUNCTIONS_WORKER_PROCESS_COUNT ?? 1);
  if (workers > 1 && host.workers?.count !== workers) {
    await host.stop();
    assert.fail(`the host did not run the functions in ${workers} worker processes`);
  }
  return { host, logs, url: (path) => `${host.baseUrl}${path}`, stop: () => host.stop() };
}

/** Polls until probe returns something other than undefined/false; fails naming what it waited for. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/**
 * An instance's history as the engine recorded it, event types by name. The status API shows the
 * extension's folded shape (historyEvents), and durable-functions' getStatus reads a `history`
 * field the extension never sends; tests that check the engine's bookkeeping read this instead.
 */
export function rawHistory(running: RunningHost, instanceId: string): ({ EventType: string } & Record<string, unknown>)[] {
  return running.host.durable.store.history(instanceId).map((e) => ({ ...e, EventType: EventType[e.EventType] ?? String(e.EventType) }));
}
