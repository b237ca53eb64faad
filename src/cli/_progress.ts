/**
 * A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise (CI logs).
 *
 * @module
 */

const encoder = new TextEncoder();

/** A progress bar for one stage; call `update` as work completes and `finish` at the end. */
export class ProgressBar {
  #label: string;
  /** Set at the first update, so a stage's rate does not count the stages before it. */
  #started: number | undefined;
  #isTerminal = Deno.stderr.isTerminal();
  #lastDraw = 0;
  #lastTenth = -1;
  #active = false;

  constructor(label: string) {
    this.#label = label;
  }

  /** Shows `done` of `total`; redraws at most every 100 ms. */
  update(done: number, total: number): void {
    const now = performance.now();
    this.#started ??= now;
    if (this.#isTerminal) {
      if (now - this.#lastDraw < 100 && done < total) return;
      this.#lastDraw = now;
      this.#active = true;
      Deno.stderr.writeSync(encoder.encode(`\r${this.#line(done, total, now)}\x1b[K`));
      return;
    }
    const tenth = Math.floor((done / Math.max(total, 1)) * 10);
    if (tenth === this.#lastTenth) return;
    this.#lastTenth = tenth;
    Deno.stderr.writeSync(encoder.encode(`${this.#line(done, total, now)}\n`));
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#active) Deno.stderr.writeSync(encoder.encode("\n"));
    this.#active = false;
  }

  #line(done: number, total: number, now: number): string {
    const fraction = total === 0 ? 1 : done / total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (now - (this.#started ?? now)) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    return `${this.#label.padEnd(9)} ${"█".repeat(filled)}${
      "░".repeat(width - filled)
    } ${done}/${total} ` +
      `${(fraction * 100).toFixed(0).padStart(3)}%  ${rate.toFixed(1)}/s  ${
        seconds.toFixed(1)
      }s elapsed` +
      (done < total ? `  ETA ${eta.toFixed(0)}s` : "");
  }
}
