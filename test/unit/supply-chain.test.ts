// Dependencies are pinned: package.json names exact versions (no ranges), and the lockfile holds
// every installed package with its integrity hash and the same version package.json asks for, so
// `npm ci` installs byte for byte what was tested. (.ci/audit.mjs checks advisories in CI.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../../src/shared/app-paths';

const read = (file: string) => JSON.parse(readFileSync(join(appRoot(), file), 'utf8')) as Record<string, unknown>;
const pkg = read('package.json') as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = read('package-lock.json') as { lockfileVersion: number; packages: Record<string, { version?: string; integrity?: string; link?: boolean; resolved?: string }> };
/** A direct dependency's locked entry; a workspace package's (packages/…) is its source folder, not a download. */
const locked = (name: string) => {
  const entry = lock.packages[`node_modules/${name}`];
  return entry?.link && entry.resolved ? lock.packages[entry.resolved] : entry;
};
const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

test('every direct dependency is an exact version', () => {
  const ranged = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([, v]) => !EXACT.test(v));
  expect(ranged).toEqual([]);
});

test('the lockfile pins each direct dependency at the version package.json names', () => {
  const mismatched = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })
    .map(([name, version]) => ({ name, wanted: version, locked: locked(name)?.version }))
    .filter((d) => d.locked !== d.wanted);
  expect(mismatched).toEqual([]);
});

test('every locked package carries its integrity hash', () => {
  expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
  // Downloads only: the workspace packages (packages/…) are this repository's own source.
  const installed = Object.entries(lock.packages).filter(([path, p]) => path.includes('node_modules/') && !p.link);
  expect(installed.length).toBeGreaterThan(100);
  expect(installed.filter(([, p]) => !p.integrity?.startsWith('sha512-')).map(([path]) => path)).toEqual([]);
});
