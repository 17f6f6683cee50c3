import * as path from 'path';
import type { CommandModule } from 'yargs';
import { z } from 'zod';
import { loadYaml, resolveNamed, validate } from '../config/load';
import { Simulator } from '../engine/simulator';
import { Rng } from '../engine/rng';
import { EmulatedLink, linkSpecSchema, resolveLinkSpec, type LinkSpec } from '../network/link';
import { loadTrace, traceStats, type TraceStats } from '../network/trace';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

/** Options of `splitsim link`. */
export interface LinkArgs {
  trace?: string;
  format?: 'auto' | 'mahimahi' | 'mbps' | 'csv-bytes';
  scenario?: string;
  direction?: 'uplink' | 'downlink';
  send?: number;
  at?: number;
  headerBytes?: number;
  mtu?: number;
  offsetMs?: number;
  delayMs?: number;
  /** Data packets to lose, e.g. "5,30": the k-th to leave the bottleneck (1-based). */
  drop?: string;
  seed?: number;
  json?: boolean;
}

/** What `splitsim link --send` reports. */
export interface SendResult {
  payloadBytes: number;
  sendAtMs: number;
  deliveredAtMs: number | null;
  ok: boolean;
  packets: number;
  headerBytesPerPacket: number;
  wireBytes: number;
  retransmissions: number;
  startOffsetMs: number;
}

/** The link spec the command works on: from --trace, or a scenario's uplink/downlink. */
export function linkSpecFromArgs(args: LinkArgs): { spec: LinkSpec; label: string } {
  if ((args.trace === undefined) === (args.scenario === undefined)) {
    throw new UserError('give exactly one of --trace FILE or --scenario NAME (see splitsim link --help)');
  }
  let spec: LinkSpec;
  let label: string;
  if (args.trace !== undefined) {
    spec = validate(linkSpecSchema, {
      type: 'trace', file: path.resolve(args.trace), format: args.format ?? 'auto', startOffsetMs: args.offsetMs ?? 0,
    }, '--trace');
    label = args.trace;
  } else {
    const file = path.resolve(resolveNamed(args.scenario!, path.join(PACKAGE_ROOT, 'scenarios')));
    const dir = args.direction ?? 'uplink';
    const doc = loadYaml(z.object({ uplink: z.unknown(), downlink: z.unknown() }).passthrough(), file, 'scenario');
    spec = resolveLinkSpec(validate(linkSpecSchema, doc[dir], `${file}: ${dir}`), path.dirname(file));
    if (args.offsetMs !== undefined && spec.type === 'trace') spec = { ...spec, startOffsetMs: args.offsetMs };
    label = `${path.basename(file)} ${dir}`;
  }
  const over: Partial<LinkSpec> = {};
  if (args.headerBytes !== undefined) over.headerBytes = args.headerBytes;
  if (args.mtu !== undefined) over.mtuBytes = args.mtu;
  if (args.delayMs !== undefined) over.delayMs = args.delayMs;
  if (args.drop !== undefined) over.loss = { model: 'list', drop: parseDropList(args.drop) };
  spec = validate(linkSpecSchema, { ...spec, ...over }, 'command line');
  return { spec, label };
}

/** Parses --drop: positive integers separated by commas. */
export function parseDropList(text: string): number[] {
  const parts = String(text).split(',').map((x) => x.trim()).filter((x) => x !== '');
  const drop = parts.map(Number);
  if (drop.length === 0 || drop.some((k) => !(Number.isInteger(k) && k >= 1))) {
    throw new UserError(`--drop: expected data packet numbers (integers from 1) separated by commas, e.g. 5,30; got "${text}"`);
  }
  return drop;
}

/** Sends one payload at `atMs` on an otherwise idle link and reports when it is delivered. */
export function sendOnce(spec: LinkSpec, payloadBytes: number, atMs: number, seed = 1): SendResult {
  if (!(Number.isFinite(payloadBytes) && payloadBytes >= 0)) throw new UserError(`--send: expected a number of bytes ≥ 0, got ${payloadBytes}`);
  if (!(Number.isFinite(atMs) && atMs >= 0)) throw new UserError(`--at: expected a time in ms ≥ 0, got ${atMs}`);
  const sim = new Simulator();
  let deliveredAtMs: number | null = null;
  let ok = false;
  const link = new EmulatedLink(spec, {
    sim, rng: new Rng(seed, 'link'), name: 'link',
    onDelivered: (_id, good) => { ok = good; deliveredAtMs = good ? sim.nowMs : null; },
  });
  sim.scheduleAt(atMs, sim.register(() => link.send(0, payloadBytes, 0)), 0);
  sim.run();
  const st = link.stats();
  return {
    payloadBytes, sendAtMs: atMs, deliveredAtMs, ok, packets: st.packets, headerBytesPerPacket: link.headerBytes,
    wireBytes: st.wireBytes, retransmissions: st.retransmissions, startOffsetMs: link.startOffsetMs,
  };
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function statsText(label: string, s: TraceStats, format: string): string {
  return [
    `trace                  ${label} (${format}, ${s.opportunities} opportunities of ${s.opportunityBytes} B)`,
    `duration               ${fmt(s.durationS)} s`,
    `mean                   ${fmt(s.meanMbps)} Mbps`,
    `1-s p10 / p50 / p90    ${fmt(s.p10Mbps)} / ${fmt(s.p50Mbps)} / ${fmt(s.p90Mbps)} Mbps`,
    `empty 100-ms windows   ${fmt(s.emptyWindowFraction * 100, 1)} %`,
  ].join('\n');
}

function sendText(label: string, r: SendResult): string {
  return [
    `link                   ${label}`,
    `payload                ${r.payloadBytes} B sent at ${r.sendAtMs} ms in ${r.packets} packet(s), ${r.headerBytesPerPacket} B headers each, ${r.wireBytes} B on the wire`,
    r.ok ? `delivered at           ${+r.deliveredAtMs!.toFixed(3)} ms (${+(r.deliveredAtMs! - r.sendAtMs).toFixed(3)} ms after sending)` : 'delivered at           never (lost)',
  ].join('\n');
}

const command: CommandModule<object, LinkArgs> = {
  command: 'link',
  describe: 'inspect a link: trace statistics, or when a payload sent at a given time arrives',
  builder: (y) =>
    y
      .option('trace', { type: 'string', describe: 'trace file: mahimahi (ms per 1500-B opportunity), "time_s Mbps", or "seconds,bytes_per_second"' })
      .option('format', { choices: ['auto', 'mahimahi', 'mbps', 'csv-bytes'] as const, describe: 'trace format (default: detected)' })
      .option('scenario', { type: 'string', describe: 'take the link from this scenario instead (name in scenarios/ or a path)' })
      .option('direction', { choices: ['uplink', 'downlink'] as const, describe: 'which link of the scenario (default uplink)' })
      .option('send', { type: 'number', describe: 'payload bytes to send (prints deliveredAtMs)' })
      .option('at', { type: 'number', describe: 'time of the send, ms (default 0)' })
      .option('header-bytes', { type: 'number', describe: 'header bytes per packet (default: 28, or 40 for tcp delivery)' })
      .option('mtu', { type: 'number', describe: 'largest IP packet, bytes (default 1500)' })
      .option('offset-ms', { type: 'number', describe: 'start the trace at this ms (default 0 with --trace)' })
      .option('delay-ms', { type: 'number', describe: 'one-way propagation delay, ms (default 0 with --trace)' })
      .option('drop', { type: 'string', describe: 'lose these data packets, e.g. 5,30: the k-th to leave the bottleneck, 1-based, retransmissions counted, SYNs and ACKs not' })
      .option('seed', { type: 'number', default: 1, describe: 'seed for random parts of the link (loss, jitter, random offset)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .check((a) => {
        if (a.at !== undefined && a.send === undefined) throw new UserError('--at needs --send BYTES');
        return true;
      }) as never,
  handler: (args) => {
    const { spec, label } = linkSpecFromArgs(args);
    if (args.send !== undefined) {
      const r = sendOnce(spec, args.send, args.at ?? 0, args.seed);
      process.stdout.write((args.json ? JSON.stringify(r) : sendText(label, r)) + '\n');
      return;
    }
    if (spec.type !== 'trace') throw new UserError(`${label}: is a ${spec.type} link, not a trace; statistics need a trace (or use --send)`);
    const trace = loadTrace(spec.file, spec.format, spec.opportunityBytes);
    const s = traceStats(trace, spec.opportunityBytes);
    process.stdout.write((args.json ? JSON.stringify({ file: label, format: trace.format, ...s }) : statsText(label, s, trace.format)) + '\n');
  },
};

export default command;
