// Progress for long-running commands: a bar on a terminal, a plain line every few seconds (and
// at the end) when the output is a pipe or a CI log.
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

export function progress(label: string, total: number): Progress {
  if (process.stdout.isTTY) {
    const bar = new SingleBar({ format: ` ${label.padEnd(18)} {bar} {value}/{total} {percentage}% | {eta_formatted} left`, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0);
    return { increment: (by = 1) => bar.increment(by), stop: () => bar.stop() };
  }
  let value = 0;
  let last = Date.now();
  return {
    increment(by = 1) {
      value += by;
      if (Date.now() - last > 2000) {
        last = Date.now();
        console.log(`${label}: ${value}/${total}`);
      }
    },
    stop: () => console.log(`${label}: ${value}/${total}`),
  };
}
