// Fault injection for the saga's participants, by activity name, from config/participants.yaml
// and the PARTICIPANT_FAULTS setting (JSON merged over the file's `faults`, read on every call so
// a drill or a test can change it without a restart).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { parse as parseYaml } from 'yaml';
import { compileCondition, type Condition, type Predicate } from '../esb/routing/conditions';
import { configDir } from '../shared/app-paths';

export interface StepFaults {
  transientFailureRate?: number;
  declineRate?: number;
  declineRules?: { reason: string; when: Condition }[];
  failRules?: { reason: string; when: Condition }[];
  /** The first `failures` calls per order fail transiently (counted in this process). */
  flakyRules?: { reason: string; when: Condition; failures: number }[];
  latencyMs?: number;
  hangRate?: number;
  hangMs?: number;
}

export interface ParticipantsConfig {
  faults: { default?: StepFaults; steps?: Record<string, StepFaults> };
  fraud: { approvalThreshold: number; approvalTimeoutSeconds: number };
}

const faultSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    transientFailureRate: { type: 'number', minimum: 0, maximum: 1 },
    declineRate: { type: 'number', minimum: 0, maximum: 1 },
    declineRules: { type: 'array', items: { type: 'object', required: ['reason', 'when'], additionalProperties: false, properties: { reason: { type: 'string' }, when: { type: 'object' } } } },
    failRules: { type: 'array', items: { type: 'object', required: ['reason', 'when'], additionalProperties: false, properties: { reason: { type: 'string' }, when: { type: 'object' } } } },
    flakyRules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['reason', 'when', 'failures'],
        additionalProperties: false,
        properties: { reason: { type: 'string' }, when: { type: 'object' }, failures: { type: 'integer', minimum: 1 } },
      },
    },
    latencyMs: { type: 'integer', minimum: 0 },
    hangRate: { type: 'number', minimum: 0, maximum: 1 },
    hangMs: { type: 'integer', minimum: 0 },
  },
};

const validate = builtInSchemaCompiler({ allErrors: true }).compile<ParticipantsConfig>({
  type: 'object',
  required: ['faults', 'fraud'],
  additionalProperties: false,
  properties: {
    faults: { type: 'object', additionalProperties: false, properties: { default: faultSchema, steps: { type: 'object', additionalProperties: faultSchema } } },
    fraud: {
      type: 'object',
      required: ['approvalThreshold', 'approvalTimeoutSeconds'],
      additionalProperties: false,
      properties: { approvalThreshold: { type: 'number', minimum: 0 }, approvalTimeoutSeconds: { type: 'integer', minimum: 1 } },
    },
  },
});

let fileConfig: ParticipantsConfig | undefined;
let cached: { env: string | undefined; config: ParticipantsConfig } | undefined;

function check(doc: unknown, where: string): ParticipantsConfig {
  if (!validate(doc)) {
    const e = validate.errors![0]!;
    throw new Error(`${where}: ${e.instancePath || '(root)'} ${e.message}`);
  }
  return doc;
}

export function participantsConfig(env: NodeJS.ProcessEnv = process.env): ParticipantsConfig {
  const file = join(configDir(), 'participants.yaml');
  fileConfig ??= check(parseYaml(readFileSync(file, 'utf8')), file);
  const override = env.PARTICIPANT_FAULTS?.trim() || undefined;
  if (cached && cached.env === override) return cached.config;
  let config = fileConfig;
  if (override) {
    const extra = JSON.parse(override) as ParticipantsConfig['faults'];
    config = check({ ...fileConfig, faults: { default: { ...fileConfig.faults.default, ...extra.default }, steps: { ...fileConfig.faults.steps, ...extra.steps } } }, 'PARTICIPANT_FAULTS');
  }
  cached = { env: override, config };
  return config;
}

const predicates = new WeakMap<object, Predicate>();
function matches(rule: { when: Condition }, facts: object): boolean {
  let p = predicates.get(rule);
  if (!p) predicates.set(rule, (p = compileCondition(rule.when, 'when')));
  return p(facts);
}

/** A number in [0, 1) fixed by the order and the step, so every retry of a step agrees. */
export function stableFraction(...parts: string[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 2 ** 32;
}

export class TransientParticipantError extends Error {
  override name = 'TransientParticipantError';
}

export interface Facts {
  orderId: string;
  customerId?: string;
  total?: number;
  itemCount?: number;
  step: string;
}

export type FaultOutcome = { decline?: string };

const flakyCalls = new Map<string, number>();

/**
 * Applies the configured faults for one call of an activity: waits (latency, hang), throws a
 * transient error, or returns the reason to decline. `forward` is false for compensations, which
 * are never declined.
 */
export async function injectFaults(activity: string, facts: Facts, forward: boolean, random: () => number = Math.random): Promise<FaultOutcome> {
  const config = participantsConfig();
  const f: StepFaults = { ...config.faults.default, ...config.faults.steps?.[activity] };
  if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
  if (f.hangRate && random() < f.hangRate) await new Promise((r) => setTimeout(r, f.hangMs ?? 600_000));
  for (const rule of f.failRules ?? []) if (matches(rule, facts)) throw new TransientParticipantError(`${activity} failed: ${rule.reason}`);
  for (const rule of f.flakyRules ?? []) {
    if (!matches(rule, facts)) continue;
    const key = `${activity}\u0000${facts.orderId}`;
    const calls = (flakyCalls.get(key) ?? 0) + 1;
    flakyCalls.set(key, calls);
    if (calls <= rule.failures) throw new TransientParticipantError(`${activity} failed (call ${calls} of ${rule.failures} that fail): ${rule.reason}`);
  }
  if (f.transientFailureRate && random() < f.transientFailureRate) throw new TransientParticipantError(`${activity}: service temporarily unavailable (injected)`);
  if (!forward) return {};
  for (const rule of f.declineRules ?? []) if (matches(rule, facts)) return { decline: rule.reason };
  if (f.declineRate && stableFraction(facts.orderId, activity) < f.declineRate) return { decline: 'DeclinedByParticipant' };
  return {};
}
