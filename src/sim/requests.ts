/** Where a request stands; stored as one byte per request. */
export const RequestStatus = {
  InSystem: 0,
  Completed: 1,
  DroppedUplink: 2,
  DroppedDownlink: 3,
} as const;

/** Names of RequestStatus values as written to CSV. */
export const STATUS_NAMES = ['in_system', 'completed', 'dropped_uplink', 'dropped_downlink'] as const;

const FLOAT_FIELDS = [
  'arrivalMs',
  'deviceStartMs',
  'deviceEndMs',
  'edgeArrivalMs',
  'edgeStartMs',
  'edgeEndMs',
  'endMs',
  'deviceMs',
  'edgeMs',
  'payloadBytes',
  'resultBytes',
] as const;
type FloatField = (typeof FLOAT_FIELDS)[number];

/**
 * Timelines of all requests of one run as columns of typed arrays (struct of arrays), so
 * the simulation allocates no object per request. Index = request id = arrival order.
 * Timestamps not reached yet are NaN; `endMs` is when the request left the system
 * (completed, or dropped by a link).
 */
export class RequestTable implements Record<FloatField, Float64Array> {
  count = 0;
  device: Int32Array;
  status: Uint8Array;
  /** Test sample the request carries (measured pipelines), else -1. */
  sample: Int32Array;
  /** 1 correct, 0 wrong, 2 unknown (declared pipelines): the sample's measured outcome. */
  correct: Uint8Array;
  /** Size of the edge batch the request ran in (0 when it never reached the edge). */
  batch: Int32Array;
  arrivalMs!: Float64Array;
  deviceStartMs!: Float64Array;
  deviceEndMs!: Float64Array;
  /** Uplink delivery at the edge server. */
  edgeArrivalMs!: Float64Array;
  edgeStartMs!: Float64Array;
  edgeEndMs!: Float64Array;
  endMs!: Float64Array;
  /** Sampled device compute time. */
  deviceMs!: Float64Array;
  /** Sampled edge compute time. */
  edgeMs!: Float64Array;
  payloadBytes!: Float64Array;
  resultBytes!: Float64Array;

  constructor(capacity = 1024) {
    const cap = Math.max(16, Math.ceil(capacity));
    this.device = new Int32Array(cap);
    this.status = new Uint8Array(cap);
    this.sample = new Int32Array(cap).fill(-1);
    this.correct = new Uint8Array(cap).fill(2);
    this.batch = new Int32Array(cap);
    for (const f of FLOAT_FIELDS) this[f] = new Float64Array(cap).fill(NaN);
  }

  /** Current capacity. */
  get capacity(): number { return this.device.length; }

  /** Appends a request of `device` arriving at `arrivalMs`; returns its id. */
  add(device: number, arrivalMs: number): number {
    if (this.count === this.device.length) this.grow();
    const id = this.count++;
    this.device[id] = device;
    this.arrivalMs[id] = arrivalMs;
    return id;
  }

  private grow(): void {
    const cap = this.device.length * 2;
    const d = new Int32Array(cap); d.set(this.device); this.device = d;
    const s = new Uint8Array(cap); s.set(this.status); this.status = s;
    const k = new Int32Array(cap).fill(-1); k.set(this.sample); this.sample = k;
    const c = new Uint8Array(cap).fill(2); c.set(this.correct); this.correct = c;
    const b = new Int32Array(cap); b.set(this.batch); this.batch = b;
    for (const f of FLOAT_FIELDS) {
      const a = new Float64Array(cap).fill(NaN);
      a.set(this[f]);
      this[f] = a;
    }
  }
}
