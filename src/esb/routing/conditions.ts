// Route conditions: predicates over the envelope (messageType, headers.priority,
// payload.items[0].sku …), grouped with all / any / not to any depth. A path with [*] reaches
// several values: positive operators hold when any value satisfies them, negative ones
// (not_equals, not_in, not_exists) when none satisfies the positive form.
import safeRegex from 'safe-regex2';
import { parseFieldPath, readPath, type PathSegment } from '../field-path';
import { backtrackingRisk } from './regex-safety';

export const OPERATORS = [
  'equals',
  'not_equals',
  'in',
  'not_in',
  'greater_than',
  'greater_or_equal',
  'less_than',
  'less_or_equal',
  'exists',
  'not_exists',
  'matches',
  'contains',
  'starts_with',
] as const;
export type Operator = (typeof OPERATORS)[number];

export interface FieldCondition {
  field: string;
  operator: Operator;
  value?: unknown;
}

export type Condition = FieldCondition | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export type Predicate = (message: unknown) => boolean;

export class ConditionError extends Error {
  override name = 'ConditionError';
  constructor(
    message: string,
    readonly at: string,
  ) {
    super(message);
  }
}

const MAX_REGEX_LENGTH = 256;

function ordered(a: unknown, b: unknown): [number | string, number | string] | undefined {
  if (typeof a === 'number' && typeof b === 'number') return [a, b];
  if (typeof a === 'string' && typeof b === 'string') return [a, b];
  return undefined;
}

function positive(operator: Operator, expected: unknown, compiled: { regex?: RegExp; set?: unknown[] }): (v: unknown) => boolean {
  switch (operator) {
    case 'equals':
    case 'not_equals':
      return (v) => v === expected;
    case 'in':
    case 'not_in':
      return (v) => compiled.set!.includes(v);
    case 'greater_than':
      return (v) => {
        const o = ordered(v, expected);
        return o !== undefined && o[0] > o[1];
      };
    case 'greater_or_equal':
      return (v) => {
        const o = ordered(v, expected);
        return o !== undefined && o[0] >= o[1];
      };
    case 'less_than':
      return (v) => {
        const o = ordered(v, expected);
        return o !== undefined && o[0] < o[1];
      };
    case 'less_or_equal':
      return (v) => {
        const o = ordered(v, expected);
        return o !== undefined && o[0] <= o[1];
      };
    case 'matches':
      return (v) => typeof v === 'string' && compiled.regex!.test(v);
    case 'contains':
      return (v) => (typeof v === 'string' && typeof expected === 'string' ? v.includes(expected) : Array.isArray(v) && v.includes(expected));
    case 'starts_with':
      return (v) => typeof v === 'string' && typeof expected === 'string' && v.startsWith(expected);
    case 'exists':
    case 'not_exists':
      return (v) => v !== undefined && v !== null;
  }
}

function compileField(c: FieldCondition, at: string): Predicate {
  if (!OPERATORS.includes(c.operator)) throw new ConditionError(`operator must be one of ${OPERATORS.join(', ')}`, `${at}.operator`);
  let path: PathSegment[];
  try {
    path = parseFieldPath(c.field);
  } catch (error) {
    throw new ConditionError((error as Error).message, `${at}.field`);
  }
  const needsValue = c.operator !== 'exists' && c.operator !== 'not_exists';
  if (needsValue && c.value === undefined) throw new ConditionError(`operator ${c.operator} needs a value`, `${at}.value`);
  if (!needsValue && c.value !== undefined) throw new ConditionError(`operator ${c.operator} takes no value`, `${at}.value`);
  const compiled: { regex?: RegExp; set?: unknown[] } = {};
  if (c.operator === 'in' || c.operator === 'not_in') {
    if (!Array.isArray(c.value)) throw new ConditionError(`operator ${c.operator} needs a list`, `${at}.value`);
    compiled.set = c.value;
  }
  if (['greater_than', 'greater_or_equal', 'less_than', 'less_or_equal'].includes(c.operator) && typeof c.value !== 'number' && typeof c.value !== 'string') {
    throw new ConditionError(`operator ${c.operator} compares with a number or a string`, `${at}.value`);
  }
  if ((c.operator === 'starts_with' || c.operator === 'matches') && typeof c.value !== 'string') {
    throw new ConditionError(`operator ${c.operator} needs a string`, `${at}.value`);
  }
  if (c.operator === 'matches') {
    const source = c.value as string;
    if (source.length > MAX_REGEX_LENGTH) throw new ConditionError(`the pattern is longer than ${MAX_REGEX_LENGTH} characters`, `${at}.value`);
    try {
      compiled.regex = new RegExp(source, 'u');
    } catch (error) {
      throw new ConditionError(`not a valid regular expression: ${(error as Error).message}`, `${at}.value`);
    }
    // A pattern with nested quantifiers can take exponential time on a crafted input; safe-regex2
    // sees those, regex-safety.ts the ambiguous alternations and neighbours it does not.
    if (!safeRegex(source)) throw new ConditionError(`the pattern can backtrack catastrophically (nested quantifiers): ${source}`, `${at}.value`);
    const risk = backtrackingRisk(source);
    if (risk) throw new ConditionError(`the pattern can backtrack catastrophically: ${risk}: ${source}`, `${at}.value`);
  }
  const test = positive(c.operator, c.value, compiled);
  const negative = c.operator === 'not_equals' || c.operator === 'not_in' || c.operator === 'not_exists';
  return (message) => {
    const values = readPath(message, path);
    const any = values.some(test);
    return negative ? !any : any;
  };
}

export function compileCondition(condition: Condition, at = 'conditions'): Predicate {
  if (typeof condition !== 'object' || condition === null) throw new ConditionError('a condition is an object', at);
  const keys = Object.keys(condition);
  if ('all' in condition || 'any' in condition) {
    const kind = 'all' in condition ? 'all' : 'any';
    if (keys.length !== 1) throw new ConditionError(`a group has only "${kind}"`, at);
    const list = (condition as Record<string, unknown>)[kind];
    if (!Array.isArray(list) || list.length === 0) throw new ConditionError(`"${kind}" needs a non-empty list`, `${at}.${kind}`);
    const parts = list.map((c, i) => compileCondition(c as Condition, `${at}.${kind}[${i}]`));
    return kind === 'all' ? (m) => parts.every((p) => p(m)) : (m) => parts.some((p) => p(m));
  }
  if ('not' in condition) {
    if (keys.length !== 1) throw new ConditionError('a "not" group has only "not"', at);
    const inner = compileCondition(condition.not, `${at}.not`);
    return (m) => !inner(m);
  }
  const extra = keys.filter((k) => !['field', 'operator', 'value'].includes(k));
  if (extra.length) throw new ConditionError(`unknown key "${extra[0]}" (a condition has field, operator, value)`, at);
  if (typeof (condition as FieldCondition).field !== 'string') throw new ConditionError('field is required', `${at}.field`);
  return compileField(condition as FieldCondition, at);
}
