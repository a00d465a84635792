// Counting what a deployment holds: npm's resolution through package-lock.json, the lockfile of
// the bundle's package, and .funcignore lines read as gitignore reads them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dependencyClosure, ignoreGlobs, lockSubset, productionClosure, readLockfile, tallyFiles, zippedFiles, type Lockfile } from '../../scripts/support/deployment-package';
import { repoRoot } from '../support/messaging-harness';

const lock: Lockfile = {
  lockfileVersion: 3,
  packages: {
    '': { version: '1.0.0' },
    'node_modules/a': { version: '1.0.0', dependencies: { b: '^2', c: '^1' }, integrity: 'sha512-a' },
    'node_modules/a/node_modules/b': { version: '2.0.0', integrity: 'sha512-b2' },
    'node_modules/b': { version: '1.0.0', dev: true },
    'node_modules/c': { version: '1.0.0', optionalDependencies: { gone: '^1' }, peerDependencies: { d: '^1', e: '^1' }, peerDependenciesMeta: { e: { optional: true } } },
    'node_modules/d': { version: '1.0.0' },
  },
};

test('a nested copy wins over the top-level one; optional and optional-peer packages that are absent are skipped', () => {
  expect(dependencyClosure(lock, ['a'])).toEqual(['node_modules/a', 'node_modules/a/node_modules/b', 'node_modules/c', 'node_modules/d']);
});

test('a required dependency missing from the lock is an error, not an undercount', () => {
  expect(() => dependencyClosure(lock, ['zzz'])).toThrow('package-lock.json has no zzz for the app');
});

test("the app's production closure is exactly the lock's non-dev packages", () => {
  const real = readLockfile(repoRoot);
  // npm counts a workspace package's dependencies as production ones; the local Azure
  // (packages/local-azure) and the lint tools (tools/lint) are dev dependencies of the app, so
  // what only they need is not the app's.
  const app = productionClosure(repoRoot, real);
  const hostOnly = new Set(dependencyClosure(real, ['@backbone/local-azure', '@backbone/lint-tools']).filter((path) => !app.includes(path)));
  const nonDev = Object.entries(real.packages)
    .filter(([path, p]) => path.includes('node_modules/') && !p.dev && !hostOnly.has(path))
    .map(([path]) => path)
    .sort();
  expect(app).toEqual(nonDev);
  expect(app).not.toContain('node_modules/@backbone/local-azure');
});

test('the lockfile of a package depending on some of them keeps their versions and integrity, nothing marked dev', () => {
  const { dependencies, lockfile } = lockSubset(lock, { name: 'x', version: '1.0.0' }, ['a']);
  expect(dependencies).toEqual({ a: '1.0.0' });
  expect(Object.keys(lockfile.packages)).toEqual(['', 'node_modules/a', 'node_modules/a/node_modules/b', 'node_modules/c', 'node_modules/d']);
  expect(lockfile.packages['node_modules/a/node_modules/b']).toMatchObject({ version: '2.0.0', integrity: 'sha512-b2' });
  expect(lockfile.packages['']).toEqual({ name: 'x', version: '1.0.0', dependencies: { a: '1.0.0' } });
});

test.each([
  ['*.ts', ['**/*.ts', '**/*.ts/**']],
  ['test/', ['**/test/**']],
  ['dist/test/', ['dist/test/**']],
  ['/README.md', ['README.md', 'README.md/**']],
  ['# a comment', []],
  ['', []],
])('.funcignore line %j is %j', (line, globs) => {
  expect(ignoreGlobs(line)).toEqual(globs);
});

test('a negation is refused rather than misread', () => {
  expect(() => ignoreGlobs('!keep.ts')).toThrow('negation is not supported');
});

test('the zipped files of a folder: ignore lines applied, node_modules left to the remote build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zipped-'));
  try {
    for (const f of ['package.json', 'dist/functions/a.js', 'dist/functions/a.js.map', 'dist/test/x.js', 'src/a.ts', 'node_modules/p/index.js', 'test/y.js']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), 'x'.repeat(10));
    }
    const files = zippedFiles(dir, ['*.js.map', '*.ts', 'test/', 'dist/test/']);
    expect(files).toEqual(['dist/functions/a.js', 'package.json']);
    expect(tallyFiles(dir, files)).toEqual({ files: 2, bytes: 20 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
