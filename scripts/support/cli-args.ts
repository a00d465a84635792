// Command-line options of the scripts: node:util parseArgs (strict), plus what a person at a
// terminal expects from it — `--help` prints the usage and exits 0; an unknown option, a missing
// value or a stray argument prints one line (no stack trace) and exits 2, as CLIs do for usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

export type ScriptArgs<T extends ParseArgsConfig> = { kind: 'ok'; parsed: Parsed<T> } | { kind: 'help' } | { kind: 'error'; message: string };

/** The pure part: what the arguments ask for, without printing or exiting. */
export function readScriptArgs<T extends ParseArgsConfig>(config: T, args: string[]): ScriptArgs<T> {
  const options = { ...config.options, help: { type: 'boolean', short: 'h' } } as const;
  let parsed: Parsed<T>;
  try {
    parsed = parseArgs({ ...config, args, options, strict: true }) as unknown as Parsed<T>;
  } catch (error) {
    return { kind: 'error', message: usageError(error as Error & { code?: string }) };
  }
  if ((parsed.values as { help?: boolean }).help) return { kind: 'help' };
  delete (parsed.values as { help?: boolean }).help;
  return { kind: 'ok', parsed };
}

/**
 * Parses process.argv for a script whose usage is `usage` (one line, e.g.
 * "npm run cost [-- --orders 300 --reads 2]"); handles --help and usage errors itself.
 */
export function parseScriptArgs<T extends ParseArgsConfig>(usage: string, config: T, args = process.argv.slice(2)): Parsed<T> {
  const result = readScriptArgs(config, args);
  if (result.kind === 'ok') return result.parsed;
  if (result.kind === 'help') {
    process.stdout.write(`Usage: ${usage}\n`);
    process.exit(0);
  }
  return usageFailure(`${result.message} (usage: ${usage})`);
}

/** A bad option value found after parsing: one line on stderr, exit code 2. */
export function usageFailure(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** A whole number of at least `min` from a string option, or a usage error naming the option. */
export function integerOption(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < min) usageFailure(`--${name} must be a whole number ≥ ${min}, not '${value ?? ''}'`);
  return n;
}

function usageError(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option '${quoted ?? '?'}'`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `Unexpected argument '${quoted ?? '?'}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // Node's text is one sentence already, e.g. "Option '--orders <value>' argument missing".
      return error.message.split('\n')[0]!;
    default:
      throw error;
  }
}
