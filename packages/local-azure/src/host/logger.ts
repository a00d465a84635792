// Host log lines in the shape `func start` prints them, filtered by host.json
// logging.logLevel (category prefix match, longest prefix wins — as in .NET logging).

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5, none: 6 };

export interface LogRecord {
  time: Date;
  level: LogLevel;
  category: string;
  message: string;
  invocationId?: string;
}

export type LogWriter = (record: LogRecord) => void;

export function normaliseLevel(value: unknown): LogLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  if (v === 'info') return 'information';
  if (v === 'warn') return 'warning';
  return v in RANK ? (v as LogLevel) : undefined;
}

export const consoleWriter: LogWriter = (r) => {
  const line = `[${r.time.toISOString()}] ${r.message}\n`;
  if (RANK[r.level] >= RANK.warning) process.stderr.write(line);
  else process.stdout.write(line);
};

export class HostLogger {
  readonly #levels: [string, LogLevel][];
  readonly #default: LogLevel;

  constructor(
    levels: Record<string, unknown>,
    private readonly writer: LogWriter = consoleWriter,
  ) {
    const entries = Object.entries(levels)
      .map(([k, v]) => [k, normaliseLevel(v)] as const)
      .filter((e): e is [string, LogLevel] => e[1] !== undefined);
    this.#default = entries.find(([k]) => k.toLowerCase() === 'default')?.[1] ?? 'information';
    this.#levels = entries.filter(([k]) => k.toLowerCase() !== 'default').sort((a, b) => b[0].length - a[0].length);
  }

  enabled(level: LogLevel, category: string): boolean {
    const match = this.#levels.find(([prefix]) => category === prefix || category.startsWith(`${prefix}.`));
    return RANK[level] >= RANK[match ? match[1] : this.#default] && level !== 'none';
  }

  log(level: LogLevel, category: string, message: string, invocationId?: string): void {
    if (this.enabled(level, category)) this.writer({ time: new Date(), level, category, message, invocationId });
  }
}
