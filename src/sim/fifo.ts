/**
 * FIFO of non-negative integers (request ids) in a growable ring buffer, so queues on the
 * hot path allocate only when they outgrow their longest backlog so far.
 */
export class IntFifo {
  private buf: Int32Array;
  private head = 0;
  private n = 0;

  constructor(capacity = 64) {
    this.buf = new Int32Array(Math.max(2, capacity));
  }

  /** Number of queued items. */
  get size(): number { return this.n; }

  /** Appends an item at the tail. */
  push(x: number): void {
    if (this.n === this.buf.length) this.grow();
    let i = this.head + this.n;
    if (i >= this.buf.length) i -= this.buf.length;
    this.buf[i] = x;
    this.n++;
  }

  /** The head item without removing it; -1 when empty. */
  peek(): number {
    return this.n === 0 ? -1 : this.buf[this.head];
  }

  /** Removes and returns the head item; -1 when empty. */
  shift(): number {
    if (this.n === 0) return -1;
    const x = this.buf[this.head];
    this.head++;
    if (this.head === this.buf.length) this.head = 0;
    this.n--;
    return x;
  }

  private grow(): void {
    const b = new Int32Array(this.buf.length * 2);
    const tail = this.buf.length - this.head;
    b.set(this.buf.subarray(this.head), 0);
    b.set(this.buf.subarray(0, this.head), tail);
    this.buf = b;
    this.head = 0;
  }
}
