import { spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sendOnce } from '../src/cli/link';
import { Rng } from '../src/engine/rng';
import { linkSpecSchema, type LinkSpecInput } from '../src/network/link';
import { PACKAGE_ROOT } from '../src/util/version';

/*
 * splitsim's TCP delivery against ns-3.37 (Debian's libns3-dev): the C++ peer in
 * bench/peers/ns3/tcp_transfer.cc sends one payload over a fresh TcpNewReno connection on a
 * point-to-point link; splitsim sends the same payload over a constant link with the same
 * parameters. Under loss both drop the same data packets (the k-th to cross the link).
 */

const SOURCE = path.join(PACKAGE_ROOT, 'bench', 'peers', 'ns3', 'tcp_transfer.cc');
const NS3_LIBS = ['core', 'network', 'internet', 'point-to-point', 'applications', 'traffic-control'];
/** Bytes the point-to-point link adds to every packet (its PPP header). */
const PPP_BYTES = 2;

/** The ns-3 release the peer is built against (from the library's soname, e.g. "3.37"), or undefined. */
export function ns3Version(): string | undefined {
  const list = (dir: string) => { try { return fs.readdirSync(dir); } catch { return []; } };
  for (const dir of ['/usr/lib', ...list('/usr/lib').map((d) => path.join('/usr/lib', d))]) {
    const names = list(dir);
    const m = names.map((n) => /^libns3(?:\.\d+)?-core(?:-\w+)?\.so\.(\d+)$/.exec(n)).find((x) => x);
    if (m) return `3.${m[1]}`;
  }
  return undefined;
}

/** Whether the ns-3 peer can be built here, and why not (the bounds were set against ns-3.37, Debian 12's). */
export function ns3Available(): { ok: true } | { ok: false; reason: string } {
  if (!fs.existsSync('/usr/include/ns3/core-module.h')) return { ok: false, reason: 'ns-3 headers not found (apt-get install libns3-dev)' };
  const version = ns3Version();
  if (version !== '3.37') return { ok: false, reason: `found ns-${version ?? '3 of unknown version'}, the comparison is set up for ns-3.37` };
  const cxx = spawnSync('g++', ['--version'], { encoding: 'utf8' });
  if (cxx.status !== 0) return { ok: false, reason: 'g++ not found' };
  return { ok: true };
}

/** Compiles the peer (once per source version) and returns the binary's path. */
export function buildPeer(): string {
  const src = fs.readFileSync(SOURCE);
  const dir = path.join(os.tmpdir(), `splitsim-ns3-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`);
  const bin = path.join(dir, 'tcp_transfer');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync('g++', ['-O1', '-std=c++17', '-o', tmp, SOURCE, ...NS3_LIBS.map((l) => `-lns3-${l}`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${SOURCE} failed:\n${r.stderr}`);
  fs.renameSync(tmp, bin);
  return bin;
}

/** One cell of the grid. */
export interface Cell {
  rateBps: number;
  delayMs: number;
  bytes: number;
  delayedAck: boolean;
  /** Data packets dropped (1-based numbers), empty for a clean link. */
  drop: number[];
  /** Label of the loss column: "0" or the loss rate the drops were drawn with. */
  loss: string;
}

/** Delayed ACKs as both simulators get them when on. */
export const DELAYED_ACK = { count: 2, timeoutMs: 40 } as const;

/** The splitsim link that models the ns-3 peer's set-up. */
export function cellSpec(cell: Cell, controlPacketsOnLink = true): LinkSpecInput {
  return {
    type: 'constant', rateBps: cell.rateBps, delayMs: cell.delayMs, mtuBytes: 1500, headerBytes: 40, linkOverheadBytes: PPP_BYTES,
    loss: cell.drop.length > 0 ? { model: 'list', drop: cell.drop } : { model: 'none' },
    delivery: {
      mode: 'tcp', initialWindowSegments: 10, initialRtoMs: 1000, minRtoMs: 200, handshake: true,
      delayedAck: cell.delayedAck ? DELAYED_ACK : false, controlPacketsOnLink,
    },
  };
}

/** splitsim's delivery time of a cell, ms after the connection attempt. */
export function splitsimMs(cell: Cell, controlPacketsOnLink = true): number {
  const r = sendOnce(linkSpecSchema.parse(cellSpec(cell, controlPacketsOnLink)), cell.bytes, 0);
  if (!r.ok || r.deliveredAtMs === null) throw new Error(`splitsim did not deliver ${JSON.stringify(cell)}`);
  return r.deliveredAtMs;
}

function ns3Args(cell: Cell): string[] {
  const a = [`--rate-bps=${cell.rateBps}`, `--delay-ms=${cell.delayMs}`, `--bytes=${cell.bytes}`,
    `--delack-count=${cell.delayedAck ? DELAYED_ACK.count : 1}`, `--delack-timeout-ms=${DELAYED_ACK.timeoutMs}`,
    '--min-rto-ms=200', '--syn-rto-ms=1000', '--iw=10', '--mss=1460'];
  if (cell.drop.length > 0) a.push(`--drop=${cell.drop.join(',')}`);
  return a;
}

/** ns-3's delivery time of a cell, ms after Connect. */
export function ns3Ms(bin: string, cell: Cell): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ns3Args(cell), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`${bin} ${ns3Args(cell).join(' ')} exited ${code}: ${err}`)); return; }
      resolve((JSON.parse(out) as { deliveredAtMs: number }).deliveredAtMs);
    });
  });
}

/** Runs `fn` over `items`, `limit` at a time, keeping the order of results. */
async function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const RATES_BPS = [1e6, 6e6, 50e6];
export const DELAYS_MS = [10, 35];
export const SIZES_BYTES = [1e3, 1e4, 1e5, 1e6];

/**
 * Drops for one cell: each of the first data packets is lost with probability p, drawn from
 * a stream named after the cell and the draw, so every run of the grid drops the same ones.
 */
export function drawDrops(cell: Omit<Cell, 'drop' | 'loss'>, p: number, draw: number): number[] {
  const rng = new Rng(draw, `ns3-grid ${cell.rateBps} ${cell.delayMs} ${cell.bytes} ${cell.delayedAck}`);
  const segments = Math.max(1, Math.ceil(cell.bytes / 1460));
  const drop: number[] = [];
  for (let k = 1; k <= 2 * segments + 20; k++) if (rng.uniform() < p) drop.push(k);
  return drop;
}

/** The grid: every rate, delay and size, delayed ACKs off and on; clean, and `draws` drop lists at loss p. */
export function gridCells(opts: { lossP?: number; draws?: number } = {}): Cell[] {
  const p = opts.lossP ?? 0.01;
  const draws = opts.draws ?? 4;
  const cells: Cell[] = [];
  for (const delayedAck of [false, true]) {
    for (const rateBps of RATES_BPS) {
      for (const delayMs of DELAYS_MS) {
        for (const bytes of SIZES_BYTES) {
          const base = { rateBps, delayMs, bytes, delayedAck };
          cells.push({ ...base, drop: [], loss: '0' });
          for (let d = 1; d <= draws; d++) cells.push({ ...base, drop: drawDrops(base, p, d), loss: `${p * 100}%` });
        }
      }
    }
  }
  return cells;
}

/** A cell with both simulators' delivery times. */
export interface CellResult extends Cell {
  ns3Ms: number;
  splitsimMs: number;
  /** splitsim / ns-3 − 1. */
  error: number;
}

/** Median and worst |error| of a set of cells. */
export function errorStats(rows: CellResult[]): { cells: number; medianAbs: number; worstAbs: number; worst?: CellResult } {
  if (rows.length === 0) return { cells: 0, medianAbs: NaN, worstAbs: NaN };
  const abs = rows.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  const m = abs.length >> 1;
  const medianAbs = abs.length % 2 ? abs[m] : (abs[m - 1] + abs[m]) / 2;
  const worst = rows.reduce((a, b) => (Math.abs(b.error) > Math.abs(a.error) ? b : a));
  return { cells: rows.length, medianAbs, worstAbs: Math.abs(worst.error), worst };
}

/** Runs the grid in both simulators (ns-3 runs in parallel, one process per cell). */
export async function runGrid(bin: string, cells: Cell[], controlPacketsOnLink = true): Promise<CellResult[]> {
  const ns = await pool(cells, Math.max(1, os.cpus().length), (c) => ns3Ms(bin, c));
  return cells.map((c, i) => {
    const s = splitsimMs(c, controlPacketsOnLink);
    return { ...c, ns3Ms: ns[i], splitsimMs: s, error: s / ns[i] - 1 };
  });
}

/** The groups the acceptance figures are given for: loss × delayed ACK. */
export function groups(rows: CellResult[]): Array<{ loss: string; delayedAck: boolean; rows: CellResult[] }> {
  const out: Array<{ loss: string; delayedAck: boolean; rows: CellResult[] }> = [];
  for (const loss of [...new Set(rows.map((r) => r.loss))]) {
    for (const delayedAck of [false, true]) out.push({ loss, delayedAck, rows: rows.filter((r) => r.loss === loss && r.delayedAck === delayedAck) });
  }
  return out;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/** `npm run bench -- ns3 [--draws N] [--loss P] [--no-control-packets] [--quiet]`: prints every cell, then median and worst errors. */
export async function main(args: string[]): Promise<void> {
  const avail = ns3Available();
  if (!avail.ok) { process.stdout.write(`ns3: skipped: ${avail.reason}\n`); return; }
  const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const draws = Number(opt('--draws') ?? 4);
  const lossP = Number(opt('--loss') ?? 0.01);
  const controlPacketsOnLink = !args.includes('--no-control-packets');
  const t0 = Date.now();
  const bin = buildPeer();
  const rows = await runGrid(bin, gridCells({ lossP, draws }), controlPacketsOnLink);
  const out = process.stdout;
  if (!args.includes('--quiet')) {
    out.write('rate_Mbps delay_ms bytes delack loss drops ns3_ms splitsim_ms ratio\n');
    for (const r of rows) {
      out.write(`${r.rateBps / 1e6} ${r.delayMs} ${r.bytes} ${r.delayedAck ? 'on' : 'off'} ${r.loss} ${r.drop.length ? r.drop.join(',') : '-'} ` +
        `${r.ns3Ms.toFixed(3)} ${r.splitsimMs.toFixed(3)} ${(r.splitsimMs / r.ns3Ms).toFixed(4)}\n`);
    }
  }
  out.write(`\nsplitsim vs ns-3.37 TcpNewReno (controlPacketsOnLink ${controlPacketsOnLink}), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const g of groups(rows)) {
    const s = errorStats(g.rows);
    const lossy = g.rows.filter((r) => r.drop.length > 0).length;
    out.write(`loss ${g.loss.padEnd(3)} delayed ACK ${g.delayedAck ? 'on ' : 'off'}: ${s.cells} cells${g.loss === '0' ? '' : ` (${lossy} with a drop list)`}, ` +
      `median |error| ${pct(s.medianAbs)}, worst ${pct(s.worstAbs)}` +
      (s.worst ? ` (${s.worst.rateBps / 1e6} Mbit/s, ${s.worst.delayMs} ms, ${s.worst.bytes} B${s.worst.drop.length ? `, drop ${s.worst.drop.join(',')}` : ''})` : '') + '\n');
  }
}
