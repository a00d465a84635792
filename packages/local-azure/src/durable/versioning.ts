// Orchestration versioning as the Durable Functions extension does it (host.json
// extensions.durableTask.defaultVersion / versionMatchStrategy / versionFailureStrategy): each
// instance keeps the version it was created with; a worker runs only the instances its strategy
// accepts, and rejects (leaves for a later worker) or fails the others.

export type VersionMatchStrategy = 'None' | 'Strict' | 'CurrentOrOlder';
export type VersionFailureStrategy = 'Reject' | 'Fail';

export interface VersioningOptions {
  /** The version new instances (and sub-orchestrations started without one) get. */
  defaultVersion?: string;
  matchStrategy: VersionMatchStrategy;
  failureStrategy: VersionFailureStrategy;
}

export const NO_VERSIONING: VersioningOptions = { matchStrategy: 'CurrentOrOlder', failureStrategy: 'Reject' };

// System.Version: two to four dot-separated non-negative integers ("1" alone is not one).
const SYSTEM_VERSION = /^\d+(\.\d+){1,3}$/;

/**
 * The extension's comparison: empty or null versions are equal to each other and older than any
 * other; two System.Version strings compare component by component (a missing component is lower
 * than any, so 1.0 < 1.0.0); anything else compares as case-insensitive ordinal strings.
 */
export function compareVersions(a: string | null | undefined, b: string | null | undefined): number {
  const emptyA = a === null || a === undefined || a === '';
  const emptyB = b === null || b === undefined || b === '';
  if (emptyA || emptyB) return emptyA && emptyB ? 0 : emptyA ? -1 : 1;
  if (SYSTEM_VERSION.test(a) && SYSTEM_VERSION.test(b)) {
    const pa = a.split('.').map(Number);
    const pb = b.split('.').map(Number);
    for (let i = 0; i < 4; i++) {
      const x = pa[i] ?? -1;
      const y = pb[i] ?? -1;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }
  const ua = a.toUpperCase();
  const ub = b.toUpperCase();
  return ua === ub ? 0 : ua < ub ? -1 : 1;
}

/** Whether a worker with these options may run an instance of `instanceVersion`; why not, if not. */
export function versionMismatch(instanceVersion: string | null | undefined, o: VersioningOptions): string | undefined {
  if (o.matchStrategy === 'None') return undefined;
  const c = compareVersions(instanceVersion, o.defaultVersion);
  const shown = (v: string | null | undefined) => (v ? `'${v}'` : 'none');
  if (o.matchStrategy === 'Strict' && c !== 0) {
    return `The orchestration version ${shown(instanceVersion)} does not match the worker's version ${shown(o.defaultVersion)} (versionMatchStrategy Strict).`;
  }
  if (o.matchStrategy === 'CurrentOrOlder' && c > 0) {
    return `The orchestration version ${shown(instanceVersion)} is newer than the worker's version ${shown(o.defaultVersion)} (versionMatchStrategy CurrentOrOlder).`;
  }
  return undefined;
}
