// What a Functions deployment holds, counted in files and bytes: the app folder's files that its
// .funcignore lets into the zip, plus the production packages a remote build installs — found in
// package-lock.json and resolved the way npm lays out node_modules (nested copy first, then up).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { globSync } from 'tinyglobby';

export interface Tally {
  files: number;
  bytes: number;
}

interface LockPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  resolved?: string;
  integrity?: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  engines?: Record<string, string>;
  /** A workspace package: node_modules/<name> links to its folder (resolved), whose entry lists its dependencies. */
  link?: boolean;
}

export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  packages: Record<string, LockPackage>;
}

export function readLockfile(root: string): Lockfile {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  if (!lock.packages || lock.lockfileVersion < 2) throw new Error('package-lock.json must be lockfileVersion 2 or 3 (npm 7+)');
  return lock;
}

/** Where `name` resolves from the package at lock path `from` ('' is the app itself). */
function resolveLocked(lock: Lockfile, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** The lock paths (node_modules/…) that the named packages need at run time, themselves included. */
export function dependencyClosure(lock: Lockfile, names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (from: string, name: string, required: boolean) => {
    const path = resolveLocked(lock, from, name);
    if (!path) {
      if (required) throw new Error(`package-lock.json has no ${name} for ${from || 'the app'} (run npm install)`);
      return;
    }
    if (seen.has(path)) return;
    seen.add(path);
    const entry = lock.packages[path]!;
    // A workspace package's dependencies are on its folder's entry, resolved from there.
    const [p, base] = entry.link && entry.resolved && lock.packages[entry.resolved] ? [lock.packages[entry.resolved]!, entry.resolved] : [entry, path];
    for (const dep of Object.keys(p.dependencies ?? {})) visit(base, dep, true);
    for (const dep of Object.keys(p.optionalDependencies ?? {})) visit(base, dep, false);
    // npm 7+ installs peers too, unless they are marked optional.
    for (const dep of Object.keys(p.peerDependencies ?? {})) visit(base, dep, !p.peerDependenciesMeta?.[dep]?.optional);
  };
  for (const name of names) visit('', name, true);
  return [...seen].sort();
}

/** The app's production dependencies (package.json `dependencies`), as the lock resolves them. */
export function productionClosure(root: string, lock = readLockfile(root)): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return dependencyClosure(lock, Object.keys(pkg.dependencies ?? {}));
}

/** A lockfile for a package that depends on exactly `names`, with the versions and integrity hashes of `lock`. */
export function lockSubset(lock: Lockfile, app: { name: string; version: string }, names: string[]): { dependencies: Record<string, string>; lockfile: Lockfile } {
  const dependencies = Object.fromEntries(names.map((n) => [n, lock.packages[`node_modules/${n}`]?.version ?? missing(n)]));
  const packages: Record<string, LockPackage> = { '': { ...app, dependencies } as LockPackage };
  for (const path of dependencyClosure(lock, names)) packages[path] = { ...lock.packages[path]!, dev: undefined };
  return { dependencies, lockfile: { name: app.name, version: app.version, lockfileVersion: 3, packages } };
}

function missing(name: string): never {
  throw new Error(`${name} is not installed at the top of node_modules`);
}

/** Files and bytes of installed packages, each without the packages nested in it (they are counted on their own). */
export function tallyPackages(root: string, lockPaths: string[]): Tally {
  const total: Tally = { files: 0, bytes: 0 };
  const walk = (dir: string, top: boolean) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!(top && e.name === 'node_modules')) walk(path, false);
      } else if (e.isFile()) {
        total.files++;
        total.bytes += statSync(path).size;
      }
    }
  };
  for (const p of lockPaths) walk(join(root, p), true);
  return total;
}

/**
 * The files of `dir` a deployment zip takes, given the lines of a .funcignore (gitignore
 * syntax; negation is not used by this app and refused rather than misread). node_modules is
 * never counted here: a remote build installs it (tallyPackages counts it).
 */
export function zippedFiles(dir: string, ignoreLines: string[] = []): string[] {
  return globSync('**/*', { cwd: dir, dot: true, onlyFiles: true, followSymbolicLinks: false, ignore: ['node_modules/**', '**/node_modules/**', ...ignoreLines.flatMap(ignoreGlobs)] }).sort();
}

export function tallyFiles(dir: string, files: string[]): Tally {
  return { files: files.length, bytes: files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) };
}

/** One .funcignore line as globs: anchored when it has an inner slash, else at any depth; a match also takes what is under it. */
export function ignoreGlobs(line: string): string[] {
  const text = line.trim();
  if (!text || text.startsWith('#')) return [];
  if (text.startsWith('!')) throw new Error(`.funcignore negation is not supported here: ${text}`);
  const body = text.replace(/\/+$/, '');
  const anchored = body.includes('/');
  const glob = anchored ? body.replace(/^\//, '') : `**/${body}`;
  return text.endsWith('/') ? [`${glob}/**`] : [glob, `${glob}/**`];
}
