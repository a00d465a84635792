// The app's metrics, one catalog: each instrument's name, kind, unit and the dimensions it is
// recorded with. In Azure they land in Application Insights as customMetrics (name = the
// instrument name, customDimensions = the dimensions); the workbook's KQL may name only what
// is listed here (test/unit/kql-names.test.ts checks it).
import { metrics, type Attributes, type Counter, type Histogram } from '@opentelemetry/api';
import { TRACER_NAME } from './tracing';

export interface MetricDefinition {
  kind: 'counter' | 'histogram';
  unit: string;
  description: string;
  dimensions: readonly string[];
}

export const METRICS = {
  'esb.messages.routed': { kind: 'counter', unit: '{message}', description: 'Messages the router sent on, per route and destination', dimensions: ['route', 'entity', 'messageType'] },
  'esb.transformations': {
    kind: 'counter',
    unit: '{message}',
    description: 'Documents converted from one format to another (ingress decoding, route encoding)',
    dimensions: ['fromFormat', 'toFormat', 'stage'],
  },
  'esb.retries': { kind: 'counter', unit: '{message}', description: 'Router retries scheduled with backoff', dimensions: ['messageType', 'attempt'] },
  'esb.deadletters': { kind: 'counter', unit: '{message}', description: 'Messages the app dead-lettered, by reason and category', dimensions: ['reason', 'category'] },
  'eventstore.events.appended': { kind: 'counter', unit: '{event}', description: 'Events appended to the event store', dimensions: ['eventType', 'streamType'] },
  'projection.lag': { kind: 'histogram', unit: 'ms', description: "From an event's append to its projection", dimensions: ['projection'] },
  'saga.started': { kind: 'counter', unit: '{saga}', description: 'Sagas started', dimensions: ['saga'] },
  'saga.completed': { kind: 'counter', unit: '{saga}', description: 'Sagas that ended Completed', dimensions: ['saga'] },
  'saga.compensated': { kind: 'counter', unit: '{saga}', description: 'Sagas that ended Compensated', dimensions: ['saga', 'failedStep'] },
  'saga.failed': { kind: 'counter', unit: '{saga}', description: 'Sagas that ended CompensationFailed (effects may remain)', dimensions: ['saga', 'failedStep'] },
  'saga.duration': { kind: 'histogram', unit: 'ms', description: 'Saga start to end', dimensions: ['saga', 'outcome'] },
  'saga.step.duration': { kind: 'histogram', unit: 'ms', description: 'A step from its first call to its outcome, retries included', dimensions: ['saga', 'step', 'outcome'] },
  'saga.compensation.duration': {
    kind: 'histogram',
    unit: 'ms',
    description: 'A compensation from its first call to its outcome, retries included',
    dimensions: ['saga', 'compensation', 'outcome'],
  },
  'security.refusals': {
    kind: 'counter',
    unit: '{request}',
    description: 'HTTP requests refused with 401 or 403, each one (the audit records a rate-limited sample)',
    dimensions: ['operation', 'status'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;
type Dims<N extends MetricName> = Record<(typeof METRICS)[N]['dimensions'][number], string | number>;

// Instruments are created on first use, from whatever meter provider is registered by then.
const instruments = new Map<MetricName, Counter | Histogram>();

function instrument(name: MetricName): Counter | Histogram {
  let i = instruments.get(name);
  if (!i) {
    const def: MetricDefinition = METRICS[name];
    const meter = metrics.getMeter(TRACER_NAME);
    i = def.kind === 'counter' ? meter.createCounter(name, { unit: def.unit, description: def.description }) : meter.createHistogram(name, { unit: def.unit, description: def.description });
    instruments.set(name, i);
  }
  return i;
}

/** Adds to a counter of the catalog, with exactly its dimensions. */
export function count<N extends MetricName>(name: N, dimensions: Dims<N>, value = 1): void {
  (instrument(name) as Counter).add(value, dimensions as Attributes);
}

/** Records a value of a histogram of the catalog, with exactly its dimensions. */
export function observe<N extends MetricName>(name: N, value: number, dimensions: Dims<N>): void {
  if (Number.isFinite(value) && value >= 0) (instrument(name) as Histogram).record(value, dimensions as Attributes);
}
