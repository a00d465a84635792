// The scripts' argument handling, without a process: what each kind of command line asks for.
import { readScriptArgs } from '../../scripts/support/cli-args';

const config = { options: { orders: { type: 'string', default: '300' }, all: { type: 'boolean' } } } as const;

test('options are parsed, defaults applied, and help is not among the values', () => {
  const r = readScriptArgs(config, ['--all']);
  expect(r).toEqual({ kind: 'ok', parsed: expect.objectContaining({ values: { orders: '300', all: true } }) });
});

test('--help and -h ask for the usage, whatever else is there', () => {
  expect(readScriptArgs(config, ['--help'])).toEqual({ kind: 'help' });
  expect(readScriptArgs(config, ['--orders', '5', '-h'])).toEqual({ kind: 'help' });
});

test.each([
  [['--nope'], "Unknown option '--nope'"],
  [['-x'], "Unknown option '-x'"],
  [['stray'], "Unexpected argument 'stray'"],
  [['--orders'], "Option '--orders <value>' argument missing"],
])('%j is a one-line usage error: %s', (args, message) => {
  const r = readScriptArgs(config, args);
  expect(r).toEqual({ kind: 'error', message });
  expect((r as { message: string }).message).not.toContain('\n');
});
