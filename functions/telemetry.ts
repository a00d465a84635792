// Telemetry wiring for the whole app, as in Microsoft's OpenTelemetry sample for Node.js
// Functions: Application Insights (applicationinsights v3, OpenTelemetry underneath) when a
// connection string is configured; every invocation runs inside the trace context the host
// gives it, so the app's spans are children of the host's request; every user log line becomes
// an OpenTelemetry log record carrying the correlationId of the transaction it belongs to.
// On the embedded host no connection string is set: the host registered its own SDK already.
import { app, type InvocationContext, type LogLevel } from '@azure/functions';
import { context as otelContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { logs, SeverityNumber, type Logger } from '@opentelemetry/api-logs';
import { startAzureMonitor } from '../src/observability/azure-monitor';
import { contextFromTraceparent, contextWithCorrelation, currentCorrelationId, TRACER_NAME } from '../src/observability/tracing';

const SEVERITY: Record<LogLevel, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  information: SeverityNumber.INFO,
  warning: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  critical: SeverityNumber.FATAL,
  none: SeverityNumber.UNSPECIFIED,
};

// With telemetryMode OpenTelemetry (host.json) the host leaves the worker's logs to the worker.
app.setup({ capabilities: { WorkerOpenTelemetryEnabled: true } });

/** The correlationId a trigger carries, when it carries one (handlers that learn it later set it themselves). */
function triggerCorrelation(type: string, input: unknown, triggerMetadata: Record<string, unknown> | undefined): string | undefined {
  const value =
    type === 'httpTrigger'
      ? (input as { headers?: { get?: (n: string) => string | null } })?.headers?.get?.('x-correlation-id')
      : type === 'serviceBusTrigger'
        ? ((input as { messages?: { correlationId?: unknown } })?.messages?.correlationId ?? triggerMetadata?.correlationId)
        : type === 'activityTrigger'
          ? (input as { correlationId?: unknown })?.correlationId
          : undefined;
  return typeof value === 'string' && value ? value : undefined;
}

app.hook.preInvocation((hook) => {
  const invocation = hook.invocationContext;
  // The host's request span is the parent of whatever the function does.
  const parent = contextFromTraceparent(invocation.traceContext?.traceParent, otelContext.active());
  const correlationId = triggerCorrelation(invocation.options.trigger.type, hook.inputs[0], invocation.triggerMetadata as Record<string, unknown> | undefined);
  hook.functionHandler = otelContext.bind(contextWithCorrelation(parent, correlationId), hook.functionHandler);
});

let logger: Logger | undefined;

app.hook.log((hook) => {
  if (hook.category !== 'user') return;
  logger ??= logs.getLogger(TRACER_NAME);
  const invocation = hook.invocationContext as InvocationContext | undefined;
  const correlationId = currentCorrelationId();
  logger.emit({
    body: hook.message,
    severityNumber: SEVERITY[hook.level],
    severityText: hook.level,
    context: otelContext.active(),
    attributes: {
      ...(correlationId ? { correlationId } : {}),
      ...(invocation ? { 'faas.invocation_id': invocation.invocationId, 'faas.name': invocation.functionName } : {}),
    },
  });
});

// After the hooks above: the distro registers a preInvocation hook of its own that binds the
// host's trace context too; registered later, it wraps ours, so ours (with the correlationId) is
// the context the handler runs in.
if (process.env.APPLICATIONINSIGHTS_CONNECTION_STRING) startAzureMonitor(process.env);
// Without an SDK no spans are recorded, but the trace context must still follow the code, so the
// messages and events it writes carry the host's traceparent. (Refused, harmlessly, where an SDK registered one.)
else otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
