// Progress for long-running commands: a bar on a terminal, a plain line every few seconds (and
// at the end) when the output is a pipe or a CI log.
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  increment(by?: number): void;
  /** Sets the position (and the total, when it changes), with a phase shown beside the bar. */
  update(value: number, total?: number, phase?: string): void;
  stop(): void;
}

export function progress(label: string, total: number): Progress {
  if (process.stdout.isTTY) {
    const bar = new SingleBar({ format: ` ${label.padEnd(18)} {bar} {value}/{total} {percentage}% | {eta_formatted} left {phase}`, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0, { phase: '' });
    return {
      increment: (by = 1) => bar.increment(by),
      update(value, newTotal, phase) {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(value, { phase: phase ?? '' });
      },
      stop: () => bar.stop(),
    };
  }
  let value = 0;
  let currentTotal = total;
  let currentPhase = '';
  let last = Date.now();
  const report = (force = false) => {
    if (!force && Date.now() - last <= 2000) return;
    last = Date.now();
    console.log(`${label}: ${value}/${currentTotal}${currentPhase ? ` (${currentPhase})` : ''}`);
  };
  return {
    increment(by = 1) {
      value += by;
      report();
    },
    update(v, t, phase) {
      value = v;
      if (t !== undefined) currentTotal = t;
      if (phase !== undefined && phase !== currentPhase) {
        currentPhase = phase;
        report(true);
      } else report();
    },
    stop: () => report(true),
  };
}
