// Given / when / then specifications for deciders: given past events, when a command, then the
// events it decides — or the typed error it raises.
import assert from 'node:assert/strict';
import { fold, type Decider } from '../../src/eventstore/decider';
import type { AppError } from '../../src/shared/errors';

export function specification<C, E, S>(decider: Decider<C, E, S>) {
  return {
    given(history: E[]) {
      return {
        when(command: C) {
          const run = () => decider.decide(command, fold(decider, history));
          return {
            then(expected: E[]): void {
              assert.deepEqual(run(), expected);
            },
            thenNothing(): void {
              assert.deepEqual(run(), [], 'expected the command to decide nothing');
            },
            thenThrows(type: new (...args: never[]) => AppError, message?: RegExp): void {
              assert.throws(run, (error: unknown) => {
                assert.ok(error instanceof type, `expected ${type.name}, got ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
                if (message) assert.match((error as Error).message, message);
                return true;
              });
            },
          };
        },
      };
    },
  };
}
