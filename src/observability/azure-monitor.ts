// Application Insights for the app in Azure: applicationinsights v3 (the Azure Monitor
// OpenTelemetry distro) as the process's OpenTelemetry SDK, sending with the app's managed
// identity ("Authorization=AAD;ClientId=<id>" in APPLICATIONINSIGHTS_AUTHENTICATION_STRING;
// local auth is off on the resource). Spans land as requests/dependencies, metrics as
// customMetrics, log records as traces — attributes as customDimensions.
import type { AzureMonitorOpenTelemetryOptions } from 'applicationinsights';
import { FailedTraceKeeper } from './failed-trace-keeper';

/** TELEMETRY_SAMPLING_RATIO: the share of orders whose whole trace is sent (1 when unset). */
export function samplingRatio(env: NodeJS.ProcessEnv): number {
  const text = env.TELEMETRY_SAMPLING_RATIO?.trim();
  if (!text) return 1;
  const ratio = Number(text);
  if (!Number.isFinite(ratio) || ratio <= 0 || ratio > 1) throw new Error(`TELEMETRY_SAMPLING_RATIO must be a number in (0, 1], not ${JSON.stringify(text)}`);
  return ratio;
}

export function azureMonitorOptions(env: NodeJS.ProcessEnv): AzureMonitorOpenTelemetryOptions {
  const clientId = /ClientId=([^;]+)/i.exec(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '')?.[1];
  let credential: AzureMonitorOpenTelemetryOptions['azureMonitorExporterOptions'] = {};
  if (clientId) {
    const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
    credential = { credential: new ManagedIdentityCredential({ clientId }) };
  }
  const exporterOptions = { connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING!, ...credential };
  const ratio = samplingRatio(env);
  return {
    azureMonitorExporterOptions: exporterOptions,
    // Fixed-ratio sampling decides by trace id, so every process keeps or drops a whole order's
    // trace alike (the distro's default, 5 traces/s per process, would keep fragments under load).
    samplingRatio: ratio,
    tracesPerSecond: 0,
    // Log records follow their trace's decision (the distro's default, said here because the
    // keeper below relies on it: a sampled-out trace's records reach only the keeper).
    enableTraceBasedSamplingForLogs: true,
    ...(ratio < 1 ? failedTraceKeeper(exporterOptions) : {}),
    // The host reports requests; HTTP auto-instrumentation would report each of them twice.
    instrumentationOptions: { http: { enabled: false } },
  };
}

/** A failed transaction's trace is sent whatever the sampling said (failed-trace-keeper.ts). */
function failedTraceKeeper(
  exporterOptions: NonNullable<AzureMonitorOpenTelemetryOptions['azureMonitorExporterOptions']>,
): Pick<AzureMonitorOpenTelemetryOptions, 'spanProcessors' | 'logRecordProcessors'> {
  const { AzureMonitorTraceExporter, AzureMonitorLogExporter } = require('@azure/monitor-opentelemetry-exporter') as typeof import('@azure/monitor-opentelemetry-exporter');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
  const spans = new BatchSpanProcessor(new AzureMonitorTraceExporter(exporterOptions));
  const logs = new BatchLogRecordProcessor({ exporter: new AzureMonitorLogExporter(exporterOptions) });
  const keeper = new FailedTraceKeeper({
    span: (span) => spans.onEnd(span),
    log: (record) => logs.onEmit(record),
    flush: async () => {
      await Promise.all([spans.forceFlush(), logs.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([spans.shutdown(), logs.shutdown()]);
    },
  });
  return { spanProcessors: [keeper.spanProcessor], logRecordProcessors: [keeper.logRecordProcessor] };
}

/** Registers Application Insights as the OpenTelemetry SDK; returns how to flush and stop it. */
export function startAzureMonitor(env: NodeJS.ProcessEnv): { flush(): Promise<void>; shutdown(): Promise<void> } {
  // Required here only: the distro and its exporters are of no use without a connection string.
  const ai = require('applicationinsights') as typeof import('applicationinsights');
  ai.useAzureMonitor(azureMonitorOptions(env));
  return { flush: () => ai.flushAzureMonitor(), shutdown: () => ai.shutdownAzureMonitor() };
}
