// Every script in scripts/ answers --help with its usage and an unknown option with one line and
// exit code 2 — never a stack trace. Scripts are found on disk, so a new one is covered too.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLimit } from '../../src/shared/concurrency';
import { repoRoot } from '../support/messaging-harness';

const scriptsDir = join(repoRoot, 'dist', 'scripts');
const scripts = readdirSync(scriptsDir)
  .filter((f) => f.endsWith('.js'))
  .sort();

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // No host is listening and nothing is written: each script must stop at its arguments.
    const child = spawn(process.execPath, [join(scriptsDir, script), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const results = new Map<string, { help: Awaited<ReturnType<typeof run>>; unknown: Awaited<ReturnType<typeof run>> }>();

beforeAll(async () => {
  await forEachLimit(scripts, 2, async (script) => {
    results.set(script, { help: await run(script, ['--help']), unknown: await run(script, ['--no-such-option']) });
  });
}, 120_000);

test('the scripts are there to check', () => {
  expect(scripts).toEqual(expect.arrayContaining(['cost.js', 'bench-router.js', 'infra-sync.js', 'emulators-config.js']));
});

test.each(scripts)('%s --help prints a usage line and exits 0', (script) => {
  const { help } = results.get(script)!;
  expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
  expect(help.stdout).toMatch(/^Usage: npm run [a-z:]+.*\n$/);
});

test.each(scripts)('%s with an unknown option prints one line, no stack, and exits 2', (script) => {
  const { unknown } = results.get(script)!;
  expect(unknown.code).toBe(2);
  expect(unknown.stdout).toBe('');
  expect(unknown.stderr).toMatch(/^Unknown option '--no-such-option' \(usage: npm run .+\)\n$/);
});
