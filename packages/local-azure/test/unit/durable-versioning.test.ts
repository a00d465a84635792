// Version comparison and matching as the Durable Functions extension documents them.
import { compareVersions, versionMismatch } from '../../src/durable/versioning';

describe('compareVersions', () => {
  test.each([
    [null, undefined, 0],
    ['', null, 0],
    [null, '1.0', -1],
    ['0.1', '', 1],
    ['1.0', '1.0', 0],
    ['1.2', '1.10', -1], // numeric components, not text
    ['2.0', '10.0', -1],
    ['1.0', '1.0.0', -1], // System.Version: an absent component is lower
    ['1.0.0.1', '1.0.0', 1],
    ['v2', 'V2', 0], // not System.Version strings: case-insensitive text
    ['2', '10', 1], // "2" alone is not a System.Version, so it compares as text
    ['2026-01-01', '2025-12-31', 1],
  ])('%p vs %p is %p', (a, b, expected) => {
    expect(Math.sign(compareVersions(a, b))).toBe(expected);
    expect(Math.sign(compareVersions(b, a))).toBe(-expected || 0);
  });
});

describe('versionMismatch', () => {
  const worker = (matchStrategy: 'None' | 'Strict' | 'CurrentOrOlder', defaultVersion?: string) => ({
    matchStrategy,
    failureStrategy: 'Reject' as const,
    ...(defaultVersion ? { defaultVersion } : {}),
  });

  test('CurrentOrOlder runs its own and older versions (and unversioned instances), not newer ones', () => {
    expect(versionMismatch('1.0', worker('CurrentOrOlder', '2.0'))).toBeUndefined();
    expect(versionMismatch(undefined, worker('CurrentOrOlder', '2.0'))).toBeUndefined();
    expect(versionMismatch('2.0', worker('CurrentOrOlder', '2.0'))).toBeUndefined();
    expect(versionMismatch('2.1', worker('CurrentOrOlder', '2.0'))).toMatch(/newer than the worker's version '2.0'/);
    expect(versionMismatch('1.0', worker('CurrentOrOlder'))).toMatch(/newer than the worker's version none/);
  });

  test('Strict runs only its own version; None runs everything', () => {
    expect(versionMismatch('2.0', worker('Strict', '2.0'))).toBeUndefined();
    expect(versionMismatch('1.0', worker('Strict', '2.0'))).toMatch(/does not match/);
    expect(versionMismatch(undefined, worker('Strict', '2.0'))).toMatch(/does not match/);
    expect(versionMismatch('9.0', worker('None', '1.0'))).toBeUndefined();
  });
});
