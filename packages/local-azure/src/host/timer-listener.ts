// timerTrigger functions: NCRONTAB schedules ({second} {minute} {hour} {day} {month}
// {day-of-week}, or 5 fields without seconds) or TimeSpan constants, runOnStartup, and the
// schedule monitor (useMonitor, on by default) that persists the last/next occurrence so a
// schedule missed while the host was down runs once at startup with IsPastDue = true.
import { CronExpressionParser } from 'cron-parser';
import type { Clock, Timer } from '../clock';
import { migrate, type Db } from '../sqlite';
import { parseTimeSpan } from '@backbone/azure-model/durations';
import type { RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { FunctionExecutor } from './executor';
import type { HostLogger } from './logger';
import { resolveSettingExpression } from './settings';

interface Schedule {
  description: string;
  isCron: boolean;
  next(after: number): number;
}

export function parseSchedule(expression: string, timeZone: string): Schedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length === 5 || fields.length === 6) {
    try {
      CronExpressionParser.parse(expression, { tz: timeZone });
      return {
        description: `Cron: '${expression}'`,
        isCron: true,
        next: (after) =>
          CronExpressionParser.parse(expression, { currentDate: new Date(after), tz: timeZone })
            .next()
            .getTime(),
      };
    } catch {
      // fall through to TimeSpan / error below
    }
  }
  let interval: number | undefined;
  const parts = expression.trim().split(':');
  if (parts.length === 3 && Number(parts[0]) >= 24) {
    // "dd:hh:mm" once the first part is 24 or more, as TimeSpan.Parse reads it.
    interval = (Number(parts[0]) * 24 * 60 + Number(parts[1]) * 60 + Number(parts[2])) * 60_000;
  } else {
    try {
      interval = parseTimeSpan(expression);
    } catch {
      interval = undefined;
    }
  }
  if (interval === undefined || !Number.isFinite(interval) || interval <= 0) {
    throw new Error(`The schedule expression '${expression}' was not recognized as a valid cron expression or timespan string.`);
  }
  const every = interval;
  return { description: `Constant: ${expression}`, isCron: false, next: (after) => after + every };
}

interface TimerEntry {
  fn: RegisteredFunction;
  triggerName: string;
  schedule: Schedule;
  useMonitor: boolean;
  runOnStartup: boolean;
  timer?: Timer;
  running?: Promise<void>;
}

interface Status {
  last: number | null;
  next: number;
  last_updated: number;
}

export interface TimerListenerOptions {
  db: Db;
  clock: Clock;
  executor: FunctionExecutor;
  logger: HostLogger;
  env: NodeJS.ProcessEnv;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('Z', '+00:00'));

export class TimerListener {
  readonly #entries: TimerEntry[] = [];
  #stopped = false;
  readonly #stmt;

  constructor(private readonly options: TimerListenerOptions) {
    migrate(options.db, 'timers', [`CREATE TABLE timer_status (function TEXT PRIMARY KEY, last INTEGER, next INTEGER NOT NULL, last_updated INTEGER NOT NULL) WITHOUT ROWID;`]);
    this.#stmt = {
      get: options.db.prepare('SELECT last, next, last_updated FROM timer_status WHERE function = ?'),
      put: options.db.prepare(
        `INSERT INTO timer_status (function, last, next, last_updated) VALUES (?, ?, ?, ?)
         ON CONFLICT(function) DO UPDATE SET last = excluded.last, next = excluded.next, last_updated = excluded.last_updated`,
      ),
    };
  }

  add(fn: RegisteredFunction, triggerName: string): void {
    const binding = fn.metadata.bindings[triggerName]!;
    const expression = resolveSettingExpression(String(binding.schedule ?? ''), this.options.env);
    const tz = this.options.env.WEBSITE_TIME_ZONE || this.options.env.TZ || 'UTC';
    const schedule = parseSchedule(expression, tz);
    const now = this.options.clock.now();
    const a = schedule.next(now);
    // The monitor is switched off for schedules that fire more than once a minute, as in Azure.
    const frequent = schedule.next(a) - a < 60_000;
    this.#entries.push({
      fn,
      triggerName,
      schedule,
      useMonitor: binding.useMonitor !== false && !frequent,
      runOnStartup: binding.runOnStartup === true,
    });
  }

  start(): void {
    const { clock, logger } = this.options;
    for (const entry of this.#entries) {
      const now = clock.now();
      const occurrences: string[] = [];
      let t = now;
      for (let i = 0; i < 5; i++) occurrences.push(new Date((t = entry.schedule.next(t))).toISOString());
      logger.log('information', `Host.Triggers.Timer`, `The next 5 occurrences of the '${entry.fn.metadata.name}' schedule (${entry.schedule.description}) will be:\n${occurrences.join('\n')}`);
      const status = entry.useMonitor ? (this.#stmt.get.get(entry.fn.metadata.functionId) as Status | undefined) : undefined;
      if (status && status.next < now) {
        logger.log('debug', `Host.Triggers.Timer`, `Function '${entry.fn.metadata.name}' is past due on startup. Executing now.`);
        this.#fire(entry, status.next, true, 'IsPastDue');
      } else if (entry.runOnStartup) {
        logger.log('debug', `Host.Triggers.Timer`, `Function '${entry.fn.metadata.name}' is configured to run on startup. Executing now.`);
        this.#fire(entry, now, false, 'RunOnStartup');
      } else {
        this.#arm(entry);
      }
    }
  }

  /** Invokes a timer function now, as `POST /admin/functions/{name}` does on the real host. */
  trigger(functionName: string): boolean {
    const entry = this.#entries.find((e) => e.fn.metadata.name.toLowerCase() === functionName.toLowerCase());
    if (!entry) return false;
    void this.#invoke(entry, this.options.clock.now(), false, undefined);
    return true;
  }

  #arm(entry: TimerEntry): void {
    if (this.#stopped) return;
    const now = this.options.clock.now();
    const next = entry.schedule.next(now);
    if (entry.useMonitor) {
      const status = this.#stmt.get.get(entry.fn.metadata.functionId) as Status | undefined;
      this.#stmt.put.run(entry.fn.metadata.functionId, status?.last ?? null, next, now);
    }
    entry.timer = this.options.clock.setTimer(next, () => this.#fire(entry, next, false, undefined));
  }

  #fire(entry: TimerEntry, scheduled: number, isPastDue: boolean, unscheduledReason: string | undefined): void {
    entry.running = this.#invoke(entry, scheduled, isPastDue, unscheduledReason).finally(() => this.#arm(entry));
  }

  async #invoke(entry: TimerEntry, scheduled: number, isPastDue: boolean, unscheduledReason: string | undefined): Promise<void> {
    const { clock, executor } = this.options;
    const id = entry.fn.metadata.functionId;
    const previous = entry.useMonitor ? (this.#stmt.get.get(id) as Status | undefined) : undefined;
    const next = entry.schedule.next(clock.now());
    const timerInfo = {
      Schedule: { AdjustForDST: entry.schedule.isCron },
      ScheduleStatus: entry.useMonitor ? { Last: iso(previous?.last ?? null) ?? '0001-01-01T00:00:00', Next: iso(scheduled), LastUpdated: iso(previous?.last_updated ?? clock.now()) } : null,
      IsPastDue: isPastDue,
    };
    let invocationId = '';
    try {
      const outcome = await executor.execute(entry.fn, {
        reason: `Timer fired at ${new Date(clock.now()).toISOString()}`,
        triggerDetails: unscheduledReason ? { UnscheduledInvocationReason: unscheduledReason, OriginalSchedule: new Date(scheduled).toISOString() } : undefined,
        request: ({ invocationId: iid }) => {
          invocationId = iid;
          return { inputData: [{ name: entry.triggerName, data: { json: JSON.stringify(timerInfo) } }] };
        },
      });
      await this.options.afterInvocation(entry.fn, outcome.response, invocationId);
    } catch {
      // Logged by the executor; a failed timer run is not retried unless a retry policy says so.
    } finally {
      if (entry.useMonitor) this.#stmt.put.run(id, scheduled, next, clock.now());
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const e of this.#entries) e.timer?.cancel();
    await Promise.allSettled(this.#entries.map((e) => e.running ?? Promise.resolve()));
  }
}
