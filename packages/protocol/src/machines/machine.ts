/** Rejection of a transition the state machine does not allow. */
export class IllegalTransitionError extends Error {
  override readonly name = "IllegalTransitionError";
  readonly code = "illegal_transition";
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly event: string,
  ) {
    super(`${machine}: '${event}' is not allowed in state '${from}'`);
  }
}

/** A pure state machine: a table of state → event → next state. */
export interface StateMachine<S extends string, E extends string> {
  readonly name: string;
  readonly states: readonly S[];
  readonly events: readonly E[];
  readonly table: Readonly<Record<S, Readonly<Partial<Record<E, S>>>>>;
  /** The next state, or throws IllegalTransitionError. */
  transition(state: S, event: E): S;
  /** The next state, or undefined when the event is not allowed. */
  next(state: S, event: E): S | undefined;
  /** True when no event leaves this state. */
  isTerminal(state: S): boolean;
}

export function defineMachine<S extends string, E extends string>(
  name: string,
  states: readonly S[],
  events: readonly E[],
  table: Record<S, Partial<Record<E, S>>>,
): StateMachine<S, E> {
  const next = (state: S, event: E): S | undefined =>
    Object.hasOwn(table, state) && Object.hasOwn(table[state], event) ? table[state][event] : undefined;
  // Looked up on every command change: computed once, not an Object.keys array per call.
  const terminal = new Set(states.filter((state) => Object.keys(table[state] ?? {}).length === 0));
  return {
    name,
    states,
    events,
    table,
    next,
    transition(state, event) {
      const to = next(state, event);
      if (to === undefined) throw new IllegalTransitionError(name, state, event);
      return to;
    },
    isTerminal: (state) => terminal.has(state) || !Object.hasOwn(table, state),
  };
}
