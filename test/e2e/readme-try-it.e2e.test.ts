// The README's "Try it" works when pasted: every curl command of that block, run as written
// against a fresh host (only localhost:7071 replaced by the test host's address), answers 2xx.
// Before this test the OrderPlaced example had drifted from its schema and answered 400.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

/** The curl commands of the first bash block after "Try it:", continuation lines joined. */
function tryItCommands(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const from = readme.indexOf('Try it:');
  const block = /```bash\n([^]*?)```/.exec(readme.slice(from))![1]!;
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('curl '));
}

const haveCurl = spawnSync('curl', ['--version']).status === 0;
const inCi = Boolean(process.env.CI);
if (!haveCurl && !inCi) console.log('README "Try it" test skipped: no curl on PATH.');
const maybe = haveCurl || inCi ? test : test.skip;

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
});

maybe('every command of the README\'s "Try it" answers 2xx, in order', async () => {
  const commands = tryItCommands();
  expect(commands.length).toBeGreaterThanOrEqual(6);
  const address = new URL(running.host.baseUrl).host;
  for (const command of commands) {
    // The status code on a line of its own after the body. Asynchronously: the host runs in this process.
    const { stdout: output } = await promisify(execFile)('bash', ['-c', `${command.replaceAll('localhost:7071', address)} -w '\\n%{http_code}'`], { encoding: 'utf8', timeout: 20_000 });
    const status = Number(output.trim().split('\n').pop());
    expect([command, status >= 200 && status < 300 ? 'ok' : output]).toEqual([command, 'ok']);
  }
});
