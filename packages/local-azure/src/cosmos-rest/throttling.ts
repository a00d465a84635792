// Throttling on demand: FAULT_INJECTION (the app's drill setting, a JSON map of target → rate)
// may name `cosmos-rest` (every container) or `cosmos-rest:<container>`, and that share of the
// container's data requests is answered as Cosmos DB answers a request over its throughput: 429
// with sub-status 3200 and x-ms-retry-after-ms, nothing done. The SDKs retry such answers
// themselves (after the time the service asks for), so a drill shows whether an app survives
// throttling without changing any code. Other targets in the map are the app's.
import { CosmosError } from './errors';

const TARGET = 'cosmos-rest';
/** What the service asks a throttled client to wait; short, as the emulator has no real budget to refill. */
const RETRY_AFTER_MS = 50;

export type ThrottleRates = ReadonlyMap<string, number>;

/** The Cosmos rates of a FAULT_INJECTION value; a malformed value is refused with the reason. */
export function throttleRates(setting: string | undefined): ThrottleRates {
  const rates = new Map<string, number>();
  if (!setting?.trim()) return rates;
  let plan: unknown;
  try {
    plan = JSON.parse(setting);
  } catch (error) {
    throw new Error(`FAULT_INJECTION must be JSON such as {"cosmos-rest:events": 0.1}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) throw new Error('FAULT_INJECTION must be a JSON object of target → failure rate');
  for (const [target, rate] of Object.entries(plan)) {
    if (target !== TARGET && !target.startsWith(`${TARGET}:`)) continue;
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new Error(`FAULT_INJECTION: the rate for ${target} must be a number from 0 to 1`);
    rates.set(target, rate);
  }
  return rates;
}

/** Throws Cosmos DB's 429 for this share of a container's requests (an exact container target wins). */
export function maybeThrottle(rates: ThrottleRates, container: string, random = Math.random): void {
  const rate = rates.get(`${TARGET}:${container}`) ?? rates.get(TARGET) ?? 0;
  if (rate > 0 && random() < rate) {
    throw new CosmosError(
      429,
      'Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. Learn more: http://aka.ms/cosmosdb-error-429',
      3200,
      { 'x-ms-retry-after-ms': String(RETRY_AFTER_MS) },
    );
  }
}
