/**
 * A progress display for long commands (reading a topic to its end, a benchmark drain): done of total, the
 * rate and the time left, on stderr so that stdout keeps the command's result for scripts. On a terminal
 * the line is redrawn in place (at most every `everyMs`); elsewhere (CI logs, pipes) a new line is written
 * at most every `logEveryMs`, so a log stays readable. `finish` always writes the final line.
 */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  readonly unit?: string;
  readonly everyMs?: number;
  readonly logEveryMs?: number;
  readonly out?: ProgressSink;
  readonly now?: () => number;
}

/** `12,345 / 50,000 records (24.7%), 8,210/s, 5 s left` — pure, for the display and its tests. */
export function progressText(
  label: string,
  done: number,
  total: number | undefined,
  elapsedMs: number,
  unit: string,
): string {
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  let text = `${label}: ${n(done)}`;
  if (total !== undefined && total > 0) {
    text += ` / ${n(total)} ${unit} (${((100 * Math.min(done, total)) / total).toFixed(1)}%)`;
  } else {
    text += ` ${unit}`;
  }
  if (elapsedMs >= 1000) text += `, ${n(rate)}/s`;
  if (total !== undefined && done < total && rate > 0)
    text += `, ${formatSeconds((total - done) / rate)} left`;
  return text;
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export class ProgressLine {
  readonly #out: ProgressSink;
  readonly #now: () => number;
  readonly #started: number;
  readonly #every: number;
  #lastShown = -Infinity;
  #done = 0;
  #total: number | undefined;
  #drawn = false;

  constructor(
    private readonly label: string,
    total?: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.#out = opts.out ?? process.stderr;
    this.#now = opts.now ?? Date.now;
    this.#started = this.#now();
    this.#every = this.#out.isTTY === true ? (opts.everyMs ?? 200) : (opts.logEveryMs ?? 5000);
    this.#total = total;
  }

  /** Sets how far the work is (and, when it became known, its size); draws when it is time. */
  update(done: number, total?: number): void {
    this.#done = done;
    if (total !== undefined) this.#total = total;
    const now = this.#now();
    if (now - this.#lastShown < this.#every) return;
    this.#lastShown = now;
    this.#draw(false);
  }

  /** The final line (always written). */
  finish(done = this.#done): void {
    this.#done = done;
    this.#draw(true);
  }

  #draw(final: boolean): void {
    const text = progressText(
      this.label,
      this.#done,
      this.#total,
      this.#now() - this.#started,
      this.opts.unit ?? 'records',
    );
    if (this.#out.isTTY === true) {
      this.#out.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
      this.#drawn = !final;
    } else {
      this.#out.write(`${text}\n`);
    }
  }

  /** True while a terminal line is drawn and not finished (a caller printing to stderr ends it first). */
  get drawing(): boolean {
    return this.#drawn;
  }
}
