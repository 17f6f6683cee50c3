/**
 * Binary min-heap of events over typed arrays, ordered by (time, sequence number): ties in
 * time pop in insertion order, so runs are FIFO and deterministic. An event is three
 * numbers (time, type, arg); nothing is allocated per event once the arrays have grown.
 */
export class EventQueue {
  private time: Float64Array;
  private seq: Float64Array;
  private type: Int32Array;
  private arg: Float64Array;
  private n = 0;
  private nextSeq = 0;

  /** Time, type and arg of the event most recently popped. */
  poppedTime = 0;
  poppedType = 0;
  poppedArg = 0;

  constructor(capacity = 1024) {
    this.time = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.type = new Int32Array(capacity);
    this.arg = new Float64Array(capacity);
  }

  get size(): number { return this.n; }

  /** Time of the next event, or Infinity when empty. */
  peekTime(): number { return this.n > 0 ? this.time[0] : Infinity; }

  private grow(): void {
    const cap = this.time.length * 2;
    const t = new Float64Array(cap); t.set(this.time); this.time = t;
    const s = new Float64Array(cap); s.set(this.seq); this.seq = s;
    const y = new Int32Array(cap); y.set(this.type); this.type = y;
    const a = new Float64Array(cap); a.set(this.arg); this.arg = a;
  }

  /** Inserts an event. */
  push(time: number, type: number, arg: number): void {
    if (this.n === this.time.length) this.grow();
    const sq = this.nextSeq++;
    const T = this.time, S = this.seq, Y = this.type, A = this.arg;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = T[p];
      if (pt < time || (pt === time && S[p] < sq)) break;
      T[i] = pt; S[i] = S[p]; Y[i] = Y[p]; A[i] = A[p];
      i = p;
    }
    T[i] = time; S[i] = sq; Y[i] = type; A[i] = arg;
  }

  /** Removes the earliest event into poppedTime/poppedType/poppedArg; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const T = this.time, S = this.seq, Y = this.type, A = this.arg;
    this.poppedTime = T[0]; this.poppedType = Y[0]; this.poppedArg = A[0];
    const last = --this.n;
    if (last === 0) return true;
    const t = T[last], s = S[last], y = Y[last], a = A[last];
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < last && (T[r] < T[c] || (T[r] === T[c] && S[r] < S[c]))) c = r;
      if (t < T[c] || (t === T[c] && s < S[c])) break;
      T[i] = T[c]; S[i] = S[c]; Y[i] = Y[c]; A[i] = A[c];
      i = c;
    }
    T[i] = t; S[i] = s; Y[i] = y; A[i] = a;
    return true;
  }

  /** Drops every event. */
  clear(): void { this.n = 0; }
}
