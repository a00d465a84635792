// A private copy of config/ for tests that change the routes file; CONFIG_DIR points the app at it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './messaging-harness';

export class ConfigCopy {
  readonly dir: string;
  constructor() {
    this.dir = join(mkdtempSync(join(tmpdir(), 'config-')), 'config');
    cpSync(join(repoRoot, 'config'), this.dir, { recursive: true });
  }

  get routesFile(): string {
    return join(this.dir, 'routes.yaml');
  }

  /** Rewrites routes.yaml and moves its mtime forward, so a reload sees the change. */
  editRoutes(edit: (yaml: string) => string): void {
    const before = readFileSync(this.routesFile, 'utf8');
    const after = edit(before);
    assert.notEqual(after, before, 'the edit changed nothing');
    writeFileSync(this.routesFile, after);
    const later = new Date(Date.now() + 5_000);
    utimesSync(this.routesFile, later, later);
  }

  remove(): void {
    rmSync(join(this.dir, '..'), { recursive: true, force: true });
  }
}
