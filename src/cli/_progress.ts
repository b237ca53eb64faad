/**
 * A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise (CI logs).
 * Its clock starts with the stage (the first update, which the run sends before any work), and
 * its rate counts only the work done now, not what an earlier attempt stored.
 *
 * @module
 */

const encoder = new TextEncoder();

/** What one line of the bar shows. */
export interface ProgressState {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  /** Items already done when the stage started (taken from an earlier attempt). */
  readonly resumed: number;
  /** Seconds since the stage started. */
  readonly seconds: number;
}

/** A progress bar for one stage; call `update` as work completes and `finish` at the end. */
export class ProgressBar {
  readonly #label: string;
  #started: number | undefined;
  #resumed = 0;
  readonly #isTerminal = Deno.stderr.isTerminal();
  #lastDraw = 0;
  #lastTenth = -1;
  #active = false;

  constructor(label: string) {
    this.#label = label;
  }

  /** Shows `done` of `total`; the first call starts the clock. Redraws at most every 100 ms. */
  update(done: number, total: number): void {
    const now = performance.now();
    if (this.#started === undefined) {
      this.#started = now;
      this.#resumed = done;
    }
    const line = () =>
      progressLine({
        label: this.#label,
        done,
        total,
        resumed: this.#resumed,
        seconds: (now - this.#started!) / 1000,
      });
    if (this.#isTerminal) {
      if (now - this.#lastDraw < 100 && done < total) return;
      this.#lastDraw = now;
      this.#active = true;
      Deno.stderr.writeSync(encoder.encode(`\r${line()}\x1b[K`));
      return;
    }
    const tenth = Math.floor((done / Math.max(total, 1)) * 10);
    if (tenth === this.#lastTenth) return;
    this.#lastTenth = tenth;
    Deno.stderr.writeSync(encoder.encode(`${line()}\n`));
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#active) Deno.stderr.writeSync(encoder.encode("\n"));
    this.#active = false;
  }
}

/**
 * One line of the bar: `judge     ███░░ 120/500  24%  8.1/s  12.3s elapsed  ETA 47s  (100 resumed)`.
 * The rate and the ETA say "–" until an item has been done in this stage.
 */
export function progressLine(state: ProgressState): string {
  const { label, done, total, resumed, seconds } = state;
  const fraction = total === 0 ? 1 : done / total;
  const width = 30;
  const filled = Math.round(fraction * width);
  const doneNow = done - resumed;
  const rate = seconds > 0 && doneNow > 0 ? doneNow / seconds : undefined;
  const eta = rate === undefined ? "–" : duration((total - done) / rate);
  return `${label.padEnd(9)} ${"█".repeat(filled)}${"░".repeat(width - filled)} ` +
    `${done}/${total} ${(fraction * 100).toFixed(0).padStart(3)}%  ` +
    `${rate === undefined ? "–" : rate.toFixed(1)}/s  ${seconds.toFixed(1)}s elapsed` +
    (done < total ? `  ETA ${eta}` : "") +
    (resumed > 0 ? `  (${resumed} resumed)` : "");
}

/** `47s`, `2m37s`, `1h04m`. */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
