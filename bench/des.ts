import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../src/engine/rng';
import { Simulator } from '../src/engine/simulator';
import { sampleStd, studentTQuantile } from '../src/report/stats';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../src/util/version';

/** Growable ring buffer of doubles: the arrival times of waiting customers. */
class FloatFifo {
  private buf = new Float64Array(1024);
  private head = 0;
  n = 0;
  push(x: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf.subarray(this.head), 0);
      b.set(this.buf.subarray(0, this.head), this.buf.length - this.head);
      this.buf = b;
      this.head = 0;
    }
    this.buf[(this.head + this.n++) % this.buf.length] = x;
  }
  shift(): number {
    const x = this.buf[this.head];
    this.head = (this.head + 1) % this.buf.length;
    this.n--;
    return x;
  }
}

/** Figures of one M/M/1 run. */
export interface Mm1Result {
  customers: number;
  wallS: number;
  events: number;
  wqMean: number;
  wqHalfWidth: number;
  wMean: number;
  simEndTime: number;
}

/**
 * M/M/1 on splitsim's engine (Simulator + EventQueue + Rng), with the same structure as
 * the SimPy peer: `customers` arrivals, FIFO single server, the first `warmup` customers
 * left out of the statistics. Statistics are streamed (running sums and 20 batch means),
 * so memory does not grow with the number of customers. State lives in object fields,
 * not in closure variables: V8 boxes a double captured and mutated by a closure, which
 * would allocate on every event.
 */
class Mm1Model {
  readonly sim = new Simulator();
  private readonly arrivals: Rng;
  private readonly service: Rng;
  private readonly waiting = new FloatFifo();
  private readonly evArrival: number;
  private readonly evDeparture: number;
  private readonly meanGap: number;
  private readonly meanService: number;
  private busy = false;
  private inServiceArrival = 0;
  private arrived = 0;
  private departed = 0;
  private started = 0;
  sumWq = 0;
  sumW = 0;
  measured = 0;
  private readonly batchSize: number;
  readonly batchMeans: number[] = [];
  private batchSum = 0;
  private batchN = 0;

  constructor(readonly customers: number, lam: number, mu: number, seed: number, readonly warmup: number, readonly batches: number) {
    this.arrivals = new Rng(seed, 'arrivals');
    this.service = new Rng(seed, 'service');
    this.meanGap = 1 / lam;
    this.meanService = 1 / mu;
    this.batchSize = Math.max(1, Math.floor((customers - warmup) / batches));
    this.evArrival = this.sim.register(() => this.arrive());
    this.evDeparture = this.sim.register(() => this.depart());
  }

  run(): void {
    this.sim.schedule(this.arrivals.exponential(this.meanGap), this.evArrival, 0);
    this.sim.run();
  }

  get measuredDepartures(): number { return this.departed - this.warmup; }

  private arrive(): void {
    const now = this.sim.nowMs;
    if (++this.arrived < this.customers) this.sim.schedule(this.arrivals.exponential(this.meanGap), this.evArrival, 0);
    if (this.busy) this.waiting.push(now);
    else this.startService(now);
  }

  private depart(): void {
    if (this.departed++ >= this.warmup) this.sumW += this.sim.nowMs - this.inServiceArrival;
    this.busy = false;
    if (this.waiting.n > 0) this.startService(this.waiting.shift());
  }

  private startService(arrivalTime: number): void {
    this.busy = true;
    this.inServiceArrival = arrivalTime;
    // Service starts in arrival order (FIFO), so the k-th start is customer k's.
    if (++this.started > this.warmup) {
      const wq = this.sim.nowMs - arrivalTime;
      this.measured++;
      this.sumWq += wq;
      this.batchSum += wq;
      if (++this.batchN === this.batchSize && this.batchMeans.length < this.batches) {
        this.batchMeans.push(this.batchSum / this.batchSize);
        this.batchSum = 0;
        this.batchN = 0;
      }
    }
    this.sim.schedule(this.service.exponential(this.meanService), this.evDeparture, 0);
  }
}

/** Runs the M/M/1 model once and returns its figures. */
export function runMm1(customers: number, lam: number, mu: number, seed = 42, warmup = 1000, batches = 20): Mm1Result {
  const t0 = process.hrtime.bigint();
  const m = new Mm1Model(customers, lam, mu, seed, warmup, batches);
  m.run();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const b = m.batchMeans.length;
  return {
    customers,
    wallS,
    events: m.sim.eventsProcessed,
    wqMean: m.sumWq / m.measured,
    wqHalfWidth: b >= 2 ? (studentTQuantile(0.975, b - 1) * sampleStd(m.batchMeans)) / Math.sqrt(b) : NaN,
    wMean: m.sumW / m.measuredDepartures,
    simEndTime: m.sim.nowMs,
  };
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name}: expected a number, got ${args[i + 1]}`);
  return v;
}

/** Runs the model in a fresh process and returns its figures and peak RSS (bytes). */
function childRun(customers: number, lam: number, mu: number): Mm1Result & { maxRssBytes: number } {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'index.js'), 'des', '--child', '--customers', String(customers), '--lam', String(lam), '--mu', String(mu)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

interface PeerResult { customers_per_s: number; wall_s_median: number; Wq_sim: number; Wq_ci95_halfwidth: number; Wq_theory: number; engine: string; python: string }

function runPeer(customers: number, lam: number, mu: number): PeerResult | string {
  const script = path.join(PACKAGE_ROOT, '..', 'shared', 'peers', 'simpy_mm1.py');
  const python = '/usr/bin/python3';
  if (!fs.existsSync(script)) return `peer not run: ${script} not found`;
  if (!fs.existsSync(python)) return `peer not run: ${python} not found`;
  const r = spawnSync(python, [script, '--customers', String(customers), '--lam', String(lam), '--mu', String(mu)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    const why = /No module named 'SimPy'/.test(r.stderr) ? 'SimPy 2 is not installed (Debian package python3-simpy)' : r.stderr.trim().split('\n').pop();
    return `peer not run: ${why}`;
  }
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('RESULT '));
  if (!line) return 'peer not run: no RESULT line in its output';
  return JSON.parse(line.slice('RESULT '.length)) as PeerResult;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/** `npm run bench -- des [--customers N] [--repeat R] [--skip-peer] [--skip-rss]`. */
export function main(args: string[]): void {
  const lam = arg(args, 'lam', 0.8), mu = arg(args, 'mu', 1.0);
  const customers = arg(args, 'customers', 1e6);
  if (args.includes('--child')) {
    const r = runMm1(customers, lam, mu);
    process.stdout.write(JSON.stringify({ ...r, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
    return;
  }
  const repeat = arg(args, 'repeat', 3);
  const rho = lam / mu;
  const wqTheory = rho / (mu - lam);
  console.log(`M/M/1 rho=${rho} (lam=${lam}, mu=${mu}), ${fmt(customers)} customers; splitsim ${SPLITSIM_VERSION}, node ${process.version}`);

  const runs: Mm1Result[] = [];
  for (let i = 0; i < repeat; i++) runs.push(runMm1(customers, lam, mu, 42 + i));
  const walls = runs.map((r) => r.wallS).sort((a, b) => a - b);
  const wall = walls[Math.floor(walls.length / 2)];
  const last = runs[runs.length - 1];
  const ours = customers / wall;
  console.log(
    `splitsim: median wall ${wall.toFixed(3)} s of ${repeat} (first ${runs[0].wallS.toFixed(3)} s) -> ${fmt(ours)} customers/s, ` +
      `${fmt(last.events / wall)} events/s; Wq ${last.wqMean.toFixed(4)} ± ${last.wqHalfWidth.toFixed(4)} (theory ${wqTheory.toFixed(4)})`,
  );

  if (!args.includes('--skip-peer')) {
    const peer = runPeer(customers, lam, mu);
    if (typeof peer === 'string') {
      console.log(peer);
    } else {
      console.log(
        `SimPy:    wall ${peer.wall_s_median.toFixed(3)} s -> ${fmt(peer.customers_per_s)} customers/s (${peer.engine}, python ${peer.python}); ` +
          `Wq ${peer.Wq_sim} ± ${peer.Wq_ci95_halfwidth} (theory ${peer.Wq_theory})`,
      );
      console.log(`ratio splitsim/SimPy: ${(ours / peer.customers_per_s).toFixed(1)}x customers/s (target >= 50x)`);
    }
  }

  if (!args.includes('--skip-rss')) {
    for (const n of [1e6, 1e7]) {
      const r = childRun(n, lam, mu);
      console.log(`peak RSS at ${fmt(n)} customers: ${(r.maxRssBytes / 2 ** 20).toFixed(1)} MiB (${fmt(n / r.wallS)} customers/s in that process)`);
    }
  }
}
