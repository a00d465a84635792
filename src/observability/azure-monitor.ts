// Application Insights for the app in Azure: applicationinsights v3 (the Azure Monitor
// OpenTelemetry distro) as the process's OpenTelemetry SDK, sending with the app's managed
// identity ("Authorization=AAD;ClientId=<id>" in APPLICATIONINSIGHTS_AUTHENTICATION_STRING;
// local auth is off on the resource). Spans land as requests/dependencies, metrics as
// customMetrics, log records as traces — attributes as customDimensions.
import type { AzureMonitorOpenTelemetryOptions } from 'applicationinsights';

export function azureMonitorOptions(env: NodeJS.ProcessEnv): AzureMonitorOpenTelemetryOptions {
  const clientId = /ClientId=([^;]+)/i.exec(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '')?.[1];
  let credential: AzureMonitorOpenTelemetryOptions['azureMonitorExporterOptions'] = {};
  if (clientId) {
    const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
    credential = { credential: new ManagedIdentityCredential({ clientId }) };
  }
  return {
    azureMonitorExporterOptions: { connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING!, ...credential },
    // Fixed-ratio sampling decides by trace id, so every process keeps or drops a whole order's
    // trace alike (the distro's default, 5 traces/s per process, would keep fragments under load).
    // Lower the ratio here when ingestion volume matters more than seeing every order.
    samplingRatio: 1,
    tracesPerSecond: 0,
    // The host reports requests; HTTP auto-instrumentation would report each of them twice.
    instrumentationOptions: { http: { enabled: false } },
  };
}

/** Registers Application Insights as the OpenTelemetry SDK; returns how to flush and stop it. */
export function startAzureMonitor(env: NodeJS.ProcessEnv): { flush(): Promise<void>; shutdown(): Promise<void> } {
  // Required here only: the distro and its exporters are of no use without a connection string.
  const ai = require('applicationinsights') as typeof import('applicationinsights');
  ai.useAzureMonitor(azureMonitorOptions(env));
  return { flush: () => ai.flushAzureMonitor(), shutdown: () => ai.shutdownAzureMonitor() };
}
