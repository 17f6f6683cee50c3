import { EventQueue } from './queue';

/** Handler of one event type; `arg` is a number the scheduler chose (often an index). */
export type Handler = (arg: number) => void;

/**
 * The discrete-event core. Models register a handler per event type once, then schedule
 * (type, arg) pairs; the loop pops events in (time, sequence) order and calls handlers.
 * Time is in milliseconds throughout splitsim.
 */
export class Simulator {
  private readonly queue = new EventQueue();
  private readonly handlers: Handler[] = [];
  private stopped = false;
  /** Current simulated time in ms. */
  nowMs = 0;
  /** Number of events processed so far. */
  eventsProcessed = 0;
  /**
   * Called every 2^20 events (and may throw to abort the run): progress reports and budget
   * guards, at a cost of one test per event.
   */
  onTick: (() => void) | undefined;

  /** Registers a handler and returns its event type id. */
  register(handler: Handler): number {
    this.handlers.push(handler);
    return this.handlers.length - 1;
  }

  /** Schedules an event `delayMs` from now (delay ≥ 0). */
  schedule(delayMs: number, type: number, arg = 0): void {
    if (!(delayMs >= 0)) throw new Error(`negative or NaN delay ${delayMs}`);
    this.queue.push(this.nowMs + delayMs, type, arg);
  }

  /** Schedules an event at absolute time `timeMs` (not in the past). */
  scheduleAt(timeMs: number, type: number, arg = 0): void {
    if (!(timeMs >= this.nowMs)) throw new Error(`event at ${timeMs} ms is before now (${this.nowMs} ms)`);
    this.queue.push(timeMs, type, arg);
  }

  /** Number of pending events. */
  get pending(): number { return this.queue.size; }

  /** Time of the next pending event (Infinity when none): lets a real-time driver sleep until then. */
  get nextEventMs(): number { return this.queue.peekTime(); }

  /** Stops the run after the current event. */
  stop(): void { this.stopped = true; }

  /** Runs until the queue is empty, stop() is called, or the next event is after untilMs. */
  run(untilMs = Infinity): void {
    const q = this.queue;
    const h = this.handlers;
    this.stopped = false;
    while (!this.stopped && q.size > 0 && q.peekTime() <= untilMs) {
      q.pop();
      this.nowMs = q.poppedTime;
      if ((++this.eventsProcessed & 0xfffff) === 0 && this.onTick) this.onTick();
      h[q.poppedType](q.poppedArg);
    }
    if (!this.stopped && untilMs !== Infinity && this.nowMs < untilMs) this.nowMs = untilMs;
  }
}
