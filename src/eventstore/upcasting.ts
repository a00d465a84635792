// Events are stored in the schema they were written with; upcasters bring old ones to the
// current schema when they are read, so deciders and projections only know the latest shape.

export type Upcaster = (data: unknown) => unknown;

export interface EventSchemas {
  /** Current schema version of each event type (1 when absent). */
  current: Record<string, number>;
  /** upcasters[type][n] turns version n into n + 1. */
  upcasters: Record<string, Record<number, Upcaster>>;
}

export function upcast<T extends { type: string; schemaVersion: number; data: unknown }>(event: T, schemas: EventSchemas): T {
  const target = schemas.current[event.type] ?? 1;
  let { data, schemaVersion } = event;
  while (schemaVersion < target) {
    const step = schemas.upcasters[event.type]?.[schemaVersion];
    if (!step) throw new Error(`No upcaster for ${event.type} from schema version ${schemaVersion}`);
    data = step(data);
    schemaVersion++;
  }
  if (schemaVersion > target) throw new Error(`${event.type} has schema version ${schemaVersion}; this code knows up to ${target}`);
  return { ...event, data, schemaVersion };
}
