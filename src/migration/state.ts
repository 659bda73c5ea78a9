/**
 * The migration state machine: every transition is checked, illegal ones throw.
 *
 * ```
 * Idle -> Setup -> PreCopy -> StopAndCopy -> Completing -> Complete
 *           |         |            |             |
 *           +---------+------------+-------------+--> Failed  -> Setup (retry) | Idle
 *           +---------+------------+----------------> Cancelled -> Setup | Idle
 * Setup -> StopAndCopy (a snapshot has no pre-copy);  Complete -> Setup (a later snapshot)
 * ```
 * A migration cannot be cancelled while Completing: the destination may already hold the whole VM.
 * Nothing fails from Complete.
 *
 * @module
 */

/** A migration state (the seed's seven, plus Cancelled). */
export type MigrationState =
  | "Idle"
  | "Setup"
  | "PreCopy"
  | "StopAndCopy"
  | "Completing"
  | "Complete"
  | "Failed"
  | "Cancelled";

/** Every state, in lifecycle order. */
export const MIGRATION_STATES: readonly MigrationState[] = [
  "Idle",
  "Setup",
  "PreCopy",
  "StopAndCopy",
  "Completing",
  "Complete",
  "Failed",
  "Cancelled",
];

/** The legal next states of each state. */
export const MIGRATION_TRANSITIONS: Readonly<Record<MigrationState, readonly MigrationState[]>> = {
  Idle: ["Setup"],
  Setup: ["PreCopy", "StopAndCopy", "Failed", "Cancelled"],
  PreCopy: ["StopAndCopy", "Failed", "Cancelled"],
  StopAndCopy: ["Completing", "Failed", "Cancelled"],
  Completing: ["Complete", "Failed"],
  Complete: ["Setup"],
  Failed: ["Setup", "Idle"],
  Cancelled: ["Setup", "Idle"],
};

/** Tracks the current state and refuses illegal transitions. */
export class MigrationStateMachine {
  #state: MigrationState = "Idle";
  /** Why the last migration failed or was cancelled, if it did. */
  reason: string | undefined;

  /** The current state. */
  get state(): MigrationState {
    return this.#state;
  }

  /** Whether `to` is a legal next state. */
  can(to: MigrationState): boolean {
    return MIGRATION_TRANSITIONS[this.#state].includes(to);
  }

  /** Move to `to`; throws an Error naming both states and the legal ones if it is not allowed. */
  transition(to: MigrationState): void {
    if (!this.can(to)) {
      const legal = MIGRATION_TRANSITIONS[this.#state];
      throw new Error(
        `Illegal migration transition ${this.#state} -> ${to}: from ${this.#state} the next state can be ${
          legal.length ? legal.join(", ") : "none"
        }`,
      );
    }
    if (to === "Setup") this.reason = undefined;
    this.#state = to;
  }

  /** Move to Failed with `reason`; throws from Idle, Complete, Failed and Cancelled. */
  fail(reason: string): void {
    this.transition("Failed");
    this.reason = reason;
  }

  /** Move to Cancelled; throws where cancelling is not allowed (Idle, Completing, Complete, ...). */
  cancel(reason = "cancelled"): void {
    this.transition("Cancelled");
    this.reason = reason;
  }
}
