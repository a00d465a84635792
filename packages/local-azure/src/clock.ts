// Time is injected so broker and engine semantics (lock expiry, TTL, schedules, duplicate
// windows) can be tested by advancing a clock instead of sleeping.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls fn once the clock reaches `at` (epoch ms). */
  setTimer(at: number, fn: () => void): Timer;
}

const MAX_TIMEOUT = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(at, fn) {
    let handle: NodeJS.Timeout;
    const arm = () => {
      const delay = at - Date.now();
      // setTimeout overflows past 2^31-1 ms and would fire at once; re-arm in steps instead.
      handle = setTimeout(delay > MAX_TIMEOUT ? arm : fn, Math.min(Math.max(delay, 0), MAX_TIMEOUT));
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A clock that moves only when told to; timers fire in time order during advance(). */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): Timer {
    const timer = { at, fn, id: this.#nextId++ };
    this.#timers.push(timer);
    return { cancel: () => (this.#timers = this.#timers.filter((t) => t !== timer)) };
  }

  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }
}
