/**
 * A progress bar on stderr for long runs (measurement, simulation). On a terminal it redraws one line at most
 * five times a second; otherwise it prints a line at every 10% so logs stay short.
 */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly t0 = Date.now();

  constructor(private readonly total: number, private readonly enabled: boolean, private readonly label: string) {}

  /** Sets the finished units to `n` (for callers that know the position, not the step). */
  set(n: number): void {
    this.add(n - this.done);
  }

  /** Records `n` more finished units. */
  add(n: number): void {
    this.done += n;
    if (!this.enabled) return;
    const now = Date.now();
    if (process.stderr.isTTY) {
      if (now - this.lastDraw < 200 && this.done < this.total) return;
      this.lastDraw = now;
      process.stderr.write(`\r${this.line(now)}`);
    } else {
      const decile = Math.floor((10 * this.done) / Math.max(1, this.total));
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        process.stderr.write(`${this.line(now)}\n`);
      }
    }
  }

  private line(now: number): string {
    const frac = Math.min(1, this.done / Math.max(1, this.total));
    const width = 30;
    const filled = Math.round(frac * width);
    const elapsedS = (now - this.t0) / 1000;
    const etaS = frac > 0 ? (elapsedS * (1 - frac)) / frac : NaN;
    const eta = Number.isFinite(etaS) ? `eta ${Math.floor(etaS / 60)}m${String(Math.round(etaS % 60)).padStart(2, '0')}s` : 'eta -';
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${Math.round(elapsedS)}s ${eta}`;
  }

  /** Ends the bar (a newline on a terminal). */
  finish(): void {
    if (this.enabled && process.stderr.isTTY) process.stderr.write(`\r${this.line(Date.now())}\n`);
  }
}
