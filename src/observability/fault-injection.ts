// The fault plan read from the FAULT_INJECTION setting: a JSON map of target → failure rate
// (0..1). A target is a function name (its invocations fail before the handler runs),
// "send:<queue or topic>" (sends through the messaging port fail as a busy broker would) or
// "store:<container>" (document operations fail as Cosmos DB's 503 would). "*", "send:*" and
// "store:*" name every function (but HTTP ones, a drill should not fail callers' requests, and
// orchestrators, whose code does no I/O and so has no transient failures),
// every entity, every container; an exact target wins over its wildcard.

/** A failure that goes away if retried; `code` matches the Service Bus SDK's ServiceBusy. */
export class TransientFault extends Error {
  override name = 'TransientFault';
  readonly code = 'ServiceBusy';
}

export function parseFaultPlan(setting: string | undefined): Map<string, number> {
  const plan = new Map<string, number>();
  if (!setting?.trim()) return plan;
  let doc: unknown;
  try {
    doc = JSON.parse(setting);
  } catch (error) {
    throw new Error(`FAULT_INJECTION must be JSON such as {"processInbound": 0.05}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error('FAULT_INJECTION must be a JSON object of function name → failure rate');
  }
  for (const [name, rate] of Object.entries(doc)) {
    if (typeof rate !== 'number' || rate < 0 || rate > 1) throw new Error(`FAULT_INJECTION: the rate for ${name} must be a number from 0 to 1`);
    plan.set(name.toLowerCase(), rate);
  }
  return plan;
}

/** The failure rate for a target: its own entry, else its kind's wildcard ("send:*", "store:*", "*" for functions). */
export function faultRate(plan: Map<string, number>, target: string, options: { wildcard?: boolean } = {}): number {
  const key = target.toLowerCase();
  const own = plan.get(key);
  if (own !== undefined) return own;
  if (options.wildcard === false) return 0;
  const colon = key.indexOf(':');
  return plan.get(colon < 0 ? '*' : `${key.slice(0, colon)}:*`) ?? 0;
}

export function shouldFail(plan: Map<string, number>, target: string, random: () => number = Math.random, options: { wildcard?: boolean } = {}): boolean {
  const rate = faultRate(plan, target, options);
  return rate > 0 && random() < rate;
}

const injected = new Map<string, number>();

/** Counts an injected fault by kind (function, send, store): drills and tests read how many struck. */
export function recordInjectedFault(kind: 'function' | 'send' | 'store'): void {
  injected.set(kind, (injected.get(kind) ?? 0) + 1);
}

/** Faults injected in this process so far, by kind. */
export function injectedFaultCounts(): Record<string, number> {
  return Object.fromEntries(injected);
}

let cached: { setting: string | undefined; plan: Map<string, number> } | undefined;

/** The plan for the setting's current value (re-read when the setting changes). */
export function currentFaultPlan(setting: string | undefined): Map<string, number> {
  if (cached === undefined || cached.setting !== setting) cached = { setting, plan: parseFaultPlan(setting) };
  return cached.plan;
}
