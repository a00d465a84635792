// Command-line options for the scripts: node's parseArgs, plus --help (prints the usage) and a
// one-line message with exit code 2 for an unknown or malformed option instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCliArgs<O extends Options>(usage: string, options: O, args: string[] = process.argv.slice(2)): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  try {
    const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } } });
    if ((values as { help?: boolean }).help) {
      console.log(`usage: ${usage}`);
      process.exit(0);
    }
    return values as ReturnType<typeof parseArgs<{ options: O }>>['values'];
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}
