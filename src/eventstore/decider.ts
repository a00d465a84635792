// A decider: the whole behaviour of an aggregate as three pure functions. decide() turns a
// command and the current state into the events it causes (or throws a typed error: the
// command is invalid, or a business rule forbids it); evolve() folds an event into the state;
// initialState() is where every stream starts. No I/O, no clock, no randomness — time and ids
// arrive in the command.

export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The state after a history of events. */
export function fold<C, E, S>(decider: Decider<C, E, S>, events: readonly E[], from: S = decider.initialState()): S {
  return events.reduce((state, event) => decider.evolve(state, event), from);
}
