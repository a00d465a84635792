// The README's "Try it" works when pasted: every line of that block, run as written against a
// fresh host (only localhost:7071 replaced by the test host's address) — each curl answers 2xx,
// the wait for the saga finishes — and the order's saga ends Completed, as the text says.
// Before this test the OrderPlaced example had drifted from its schema and answered 400.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

/** The command lines of the first bash block under "## Try it", continuation lines joined. */
function tryItCommands(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const from = readme.indexOf('## Try it');
  const block = /```bash\n([^]*?)```/.exec(readme.slice(from))![1]!;
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
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

maybe('every command of the README\'s "Try it" answers 2xx, in order, and the saga ends Completed', async () => {
  const commands = tryItCommands();
  expect(commands.length).toBeGreaterThanOrEqual(8);
  const address = new URL(running.host.baseUrl).host;
  const run = (command: string) => promisify(execFile)('bash', ['-c', command.replaceAll('localhost:7071', address)], { encoding: 'utf8', timeout: 60_000 });
  let sagaAnswer = '';
  for (const command of commands) {
    if (!command.startsWith('curl ')) {
      // A shell line (the wait for the saga's end): it must finish, and succeed.
      await expect(run(command)).resolves.toBeDefined();
      continue;
    }
    // The status code on a line of its own after the body. Asynchronously: the host runs in this process.
    const { stdout: output } = await run(`${command} -w '\\n%{http_code}'`);
    const status = Number(output.trim().split('\n').pop());
    expect([command, status >= 200 && status < 300 ? 'ok' : output]).toEqual([command, 'ok']);
    if (/\/api\/sagas\/o-1$/.test(command)) sagaAnswer = output;
  }
  // The block ends the way its text says: the order's saga Completed.
  expect(sagaAnswer).toContain('"status":"Completed"');
});
