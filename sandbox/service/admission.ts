/**
 * Admission control of one replica: at most `capacity` executions in hand (the workers' and a
 * bounded queue's); beyond that a request is refused at once, never parked, so that a client or
 * proxy can try elsewhere or back off. Draining refuses everything new and resolves when the
 * executions in hand have finished.
 *
 * @module
 */

/** Counts executions in hand against a fixed capacity. */
export class Admission {
  /** Executions in hand at most. */
  readonly capacity: number;
  #inFlight = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot admit executions as the capacity must be a positive integer: current value is ${capacity}`,
      );
    }
    this.capacity = capacity;
  }

  /** Executions in hand now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether new work is refused for good (the replica is going away). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Takes `count` executions in hand if they fit and the replica is not draining. */
  tryEnter(count = 1): boolean {
    if (this.#draining || this.#inFlight + count > this.capacity) return false;
    this.#inFlight += count;
    return true;
  }

  /** Gives back `count` executions. */
  leave(count = 1): void {
    this.#inFlight = Math.max(0, this.#inFlight - count);
    if (this.#inFlight === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
  }

  /** Refuses new work from now on; resolves when nothing is in hand. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
