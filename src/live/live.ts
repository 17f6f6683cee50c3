/**
 * `splitsim live`: runs a scenario for real on this machine and puts it next to the
 * simulator's prediction. For each pipeline: `simulate`'s run of the scenario (host profile
 * as device and server unless overridden) gives the prediction and the schedule (arrivals and
 * test samples); a tail server (`splitsim serve`, a child process with worker threads), a
 * link shaper per pipeline (`splitsim shape`, a child process, fresh link state like the
 * simulator's per-pipeline run) and the devices (this process) play that schedule over
 * loopback on random free ports; the device log and the simulated timeline are compared
 * stage by stage into live.csv.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { loadScenario, type LoadedScenario, type Scenario } from '../config/scenario';
import { loadFashionMnistTest, type ImageSet } from '../data/fashion';
import { hostProfile, hostProfileYaml, runCalibration } from '../hardware/calibrate';
import { loadProfile } from '../hardware/profile';
import { modelSource, resolveZooModel, ZOO_DIR } from '../model/meta';
import { resolveScenario, type ResolvedScenario } from '../pipelines/resolve';
import type { PipelineRecord } from '../pipelines/record';
import { pipelineName } from '../pipelines/ref';
import { RequestCsvWriter, toCsv } from '../report/csv';
import { formatTable } from '../report/table';
import { simulatePipeline, type PipelineRun } from '../sim/system';
import type { RequestTable } from '../sim/requests';
import { checkOutputDir, OutputSet } from '../util/atomic';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../util/version';
import { comparisonRows, agreement, LIVE_COLUMNS } from './compare';
import { runDevices, scheduleOf, type DeviceRun } from './device';
import { LivePipeline } from './pipeline';
import { checkInt, checkShare, liveRuntime, parseTarget, scenarioPipelines } from './scenario';
import { chooseRuntime, type RuntimeName } from '../model/runtime';
import type { ServerStats } from './server';
import type { ShaperStats } from './shaper';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'splitsim.js');

/** What live and device take from the command line. */
export interface LiveArgs {
  scenario: string;
  pipeline?: string[];
  /** Overrides the scenario's duration with this many requests. */
  requests?: number;
  seed?: number;
  /** Overrides devices.count. */
  devices?: number;
  /** Overrides edge.cpuShare. */
  cpuShare?: number;
  deviceProfile?: string;
  edgeProfile?: string;
  /** Calibrate this machine now and use that profile for device and server. */
  calibrate?: boolean;
  samples?: number;
  out?: string;
  /** Model runtime (liveRuntime: --runtime, SPLITSIM_RUNTIME, else tfjs). */
  runtime?: string;
}

/** A scenario ready for a live run: overrides applied, pipelines resolved, predictions made. */
export interface LivePlan {
  loaded: LoadedScenario;
  scenario: Scenario;
  resolved: ResolvedScenario;
  records: PipelineRecord[];
  runtime: RuntimeName;
  deviceProfile: string;
  edgeProfile: string;
  /** YAML of the profile calibrated for this run, if any. */
  calibratedProfile?: string;
}

/** A profile flag as a scenario names it: bare names stay, paths become absolute. */
function profileRef(v: string): string {
  return v.includes('/') || v.includes(path.sep) ? path.resolve(v) : v;
}

/**
 * Applies the live overrides to the scenario (host profile on both sides unless told
 * otherwise, --requests, --seed), resolves the named pipelines (measuring what the cache
 * lacks) and returns what to run. Bad flags are UserErrors naming the flag.
 */
export async function planLive(args: LiveArgs, log: (m: string) => void): Promise<LivePlan> {
  checkInt(args.requests, '--requests', 1, 10_000_000);
  checkInt(args.seed, '--seed', 0, 0xffffffff);
  checkInt(args.devices, '--devices', 1, 10000);
  checkShare(args.cpuShare, '--cpu-share');
  const runtime = liveRuntime(args.runtime);
  if (args.calibrate && (args.deviceProfile || args.edgeProfile)) throw new UserError('--calibrate: give either --calibrate or --device-profile/--edge-profile');
  const loaded = loadScenario(args.scenario);
  let deviceProfile = profileRef(args.deviceProfile ?? 'host');
  let edgeProfile = profileRef(args.edgeProfile ?? 'host');
  let calibratedProfile: string | undefined;
  if (args.calibrate) {
    log('calibrating this machine (tfjs micro-benchmarks, a few seconds)');
    const result = await runCalibration();
    // The calibration measures compute only; codec CPU time keeps host.yaml's CPU rate (the
    // machine the codec cost models were fitted on), so codec times are not rescaled.
    const profile = { ...hostProfile(result, 'live-host'), cpu: loadProfile('host').cpu };
    calibratedProfile = hostProfileYaml(profile);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-live-'));
    const file = path.join(dir, 'live-host.yaml');
    fs.writeFileSync(file, calibratedProfile);
    deviceProfile = edgeProfile = file;
  }
  const s = loaded.scenario;
  const scenario: Scenario = {
    ...s,
    seed: args.seed ?? s.seed,
    duration: args.requests !== undefined ? { requests: args.requests } : s.duration,
    devices: { ...s.devices, count: args.devices ?? s.devices.count, profile: deviceProfile },
    edge: { ...s.edge, profile: edgeProfile, ...(args.cpuShare !== undefined ? { cpuShare: args.cpuShare } : {}) },
  };
  const refs = scenarioPipelines(loaded, args.pipeline);
  const names = refs.map(pipelineName);
  // Each model on the live runtime, refused here (naming --runtime) if it cannot run on it.
  for (const m of new Set(refs.map((r) => r.model))) {
    const e = resolveZooModel(m, ZOO_DIR);
    chooseRuntime({ where: modelSource(e), tfjs: e.tfjs, onnx: e.onnx?.file }, runtime, '--runtime');
  }
  const resolved = await resolveScenario({ scenario, file: loaded.file }, { only: names, samples: args.samples, log, runtime });
  const records = names.map((n) => resolved.records.find((r) => r.name === n)!);
  return { loaded, scenario, resolved, records, runtime, deviceProfile, edgeProfile, calibratedProfile };
}

/** A child `splitsim` process that prints a JSON line when ready and answers JSON lines. */
export class Child {
  private readonly lines: string[] = [];
  private waiting: Array<(line: string) => void> = [];
  readonly exited: Promise<number | null>;
  private constructor(readonly proc: ChildProcess, log: (m: string) => void) {
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (l) => {
      const w = this.waiting.shift();
      if (w) w(l); else this.lines.push(l);
    });
    readline.createInterface({ input: proc.stderr! }).on('line', (l) => log(l));
    this.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  }

  /** Starts `splitsim <args>` and waits for its first stdout line (parsed JSON). */
  static async start<T>(args: string[], log: (m: string) => void, timeoutMs = 120000): Promise<{ child: Child; ready: T }> {
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new Child(proc, log);
    const line = await Promise.race([
      child.nextLine(),
      child.exited.then((code) => { throw new Error(`splitsim ${args[0]} exited with code ${code} before it was ready`); }),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`splitsim ${args[0]} not ready after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { child, ready: JSON.parse(line) as T };
  }

  nextLine(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiting.push(r));
  }

  /** Sends a JSON command on stdin and returns the parsed reply line. */
  async ask<T>(cmd: object): Promise<T> {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    return JSON.parse(await this.nextLine()) as T;
  }

  /** SIGTERM, then waits for the exit (SIGKILL after graceMs). */
  async stop(graceMs = 15000): Promise<number | null> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** GET a JSON document. */
export function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as T); } catch (e) { reject(e); }
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** One pipeline's live run and its prediction. */
export interface LivePipelineRun {
  record: PipelineRecord;
  predicted: PipelineRun;
  live: DeviceRun;
  /** The shaper's counters (live only). */
  shaper?: ShaperStats;
  /** Server counters before and after (absent when the server could not be asked). */
  server?: { before: ServerStats; after: ServerStats };
  /** Server memory while the pipeline ran: [ms from start, rss bytes, heap bytes]. */
  memory: Array<[number, number, number]>;
  /** What ran the device's head: ONNX Runtime or the tfjs backend. */
  backend: string;
  measuredUtilization: number;
  predictedUtilization: number;
}

/** What `splitsim live` produced. */
export interface LiveResult {
  plan: LivePlan;
  runs: LivePipelineRun[];
  rows: Array<Record<string, string | number>>;
  outDir: string;
  files: string[];
  table: string;
}

/** Writes a request table as requests.csv (simulate's columns) to `file`. */
function writeRequests(file: string, parts: Array<{ name: string; T: RequestTable }>): void {
  const w = new RequestCsvWriter(file);
  for (const { name, T } of parts) {
    const sink = w.sink(name);
    for (let i = 0; i < T.count; i++) sink(T, i);
  }
  w.close();
}

/** How one pipeline is played: where the devices send, and what runs around the run. */
interface PlayOptions {
  serverUrl: string;
  pipelineId: number;
  /** URL per device (the shaper's ports, or the server itself). */
  targets: string[];
  /** Called with the run's time 0 (epoch ms) before the first arrival. */
  atOrigin?: (originMs: number) => Promise<void>;
  log: (m: string) => void;
}

/** Plays one pipeline's predicted schedule for real and pairs it with the prediction. */
async function playPipeline(plan: LivePlan, record: PipelineRecord, data: ImageSet, o: PlayOptions): Promise<Omit<LivePipelineRun, 'shaper'>> {
  const { scenario, resolved, loaded } = plan;
  const [ref] = scenarioPipelines(loaded, [record.name]);
  const predicted = simulatePipeline(scenario, record, { keepRequests: true, power: resolved.power, radio: resolved.radio });
  const schedule = scheduleOf(predicted, resolved.measurement!.sampleIndices);
  const pipeline = await LivePipeline.load(ref, ZOO_DIR, plan.runtime);
  if (pipeline.backend !== record.measured?.backend) o.log(`note: ${record.name} runs on ${pipeline.backend} here, its measurement ran on ${record.measured?.backend}: payloads may differ where the two runtimes' values straddle a quantiser bin`);
  for (let j = 0; j < Math.min(30, schedule.length); j++) await pipeline.device(data, schedule[j].index);
  const origin = performance.timeOrigin + performance.now() + 300;
  await o.atOrigin?.(origin);
  const stats = () => getJson<ServerStats>(`${o.serverUrl}/v1/stats`).catch(() => undefined);
  const before = await stats();
  const memory: Array<[number, number, number]> = [];
  const poll = setInterval(() => {
    void stats().then((s) => { if (s) memory.push([performance.timeOrigin + performance.now() - origin, s.rssBytes, s.heapUsedBytes]); });
  }, 1000);
  o.log(`${record.name}: ${schedule.length} requests from ${scenario.devices.count} device(s) over ${((schedule[schedule.length - 1]?.arrivalMs ?? 0) / 1000).toFixed(1)} s`);
  let live: DeviceRun;
  try {
    live = await runDevices({ pipeline, pipelineId: o.pipelineId, data, schedule, targets: o.targets, originMs: origin, log: o.log });
  } finally {
    clearInterval(poll);
  }
  const after = await stats();
  const K = scenario.edge.workers;
  const a = agreement(live.requests, predicted.requests);
  o.log(`${record.name}: ${live.failures.length} without an answer; top-1 live ${(a.measuredAccuracy * 100).toFixed(2)}% vs predicted ${(a.predictedAccuracy * 100).toFixed(2)}% (${a.outcomeMismatches} outcome and ${a.payloadMismatches} payload-size mismatches over ${a.compared} requests)`);
  return {
    record, predicted, live, server: before && after ? { before, after } : undefined, memory, backend: pipeline.backend,
    measuredUtilization: before && after ? (after.busyMs - before.busyMs) / (K * (live.endEpochMs - origin)) : NaN,
    predictedUtilization: predicted.edgeBusyMs / (K * predicted.endMs),
  };
}

/** Writes live.csv, the two request logs and live.json; returns the files and the table. */
function writeLive(outDir: string, command: string, plan: LivePlan, runs: LivePipelineRun[], serverBackend?: string): { rows: Array<Record<string, string | number>>; files: string[]; table: string } {
  const out = new OutputSet(outDir, command);
  const rows: Array<Record<string, string | number>> = runs.flatMap((r) => comparisonRows({
    pipeline: r.record.name, measured: r.live.requests, predicted: r.predicted.requests,
    measuredUtilization: r.measuredUtilization, predictedUtilization: r.predictedUtilization,
  }).map((row) => ({ ...row, device_backend: r.backend, server_backend: serverBackend ?? '', measurement_backend: r.record.measured?.backend ?? '' })));
  const prefix = command === 'live' ? 'live-' : '';
  out.add(path.join(outDir, 'live.csv'), toCsv(rows, [...LIVE_COLUMNS]));
  writeRequests(out.streamPath(`${prefix}requests.csv`), runs.map((r) => ({ name: r.record.name, T: r.live.requests })));
  writeRequests(out.streamPath(`${prefix}predicted-requests.csv`), runs.map((r) => ({ name: r.record.name, T: r.predicted.requests })));
  if (plan.calibratedProfile) out.add(path.join(outDir, 'live-host.yaml'), plan.calibratedProfile);
  const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
  const record = {
    command,
    splitsim_version: SPLITSIM_VERSION,
    node_version: process.version,
    scenario_file: plan.loaded.file,
    seed: plan.scenario.seed,
    device_backend: [...new Set(runs.map((r) => r.backend))].sort().join('+'),
    server_backend: serverBackend ?? null,
    measurement_backend: plan.resolved.measurement?.backend ?? null,
    runtime: plan.runtime,
    device_profile: plan.deviceProfile,
    edge_profile: plan.edgeProfile,
    cpus: os.cpus().length,
    pipelines: runs.map((r) => {
      const s = r.server;
      return {
        name: r.record.name,
        requests: r.live.requests.count,
        not_answered: r.live.failures,
        accuracy: agreement(r.live.requests, r.predicted.requests),
        edge_utilization: { measured: r.measuredUtilization, predicted: r.predictedUtilization },
        server: s ? {
          received: s.after.received - s.before.received, completed: s.after.completed - s.before.completed,
          rejected: s.after.rejected - s.before.rejected, aborted: s.after.aborted - s.before.aborted,
          failed: s.after.failed - s.before.failed, batches: s.after.batches - s.before.batches,
          rss_mb: [mb(s.before.rssBytes), mb(s.after.rssBytes)],
        } : null,
        server_memory_mb: r.memory.map(([t, rss, heap]) => [Math.round(t), mb(rss), mb(heap)]),
        shaper: r.shaper ?? null,
      };
    }),
    scenario: plan.scenario,
  };
  out.add(path.join(outDir, `${command}.json`), JSON.stringify(record, null, 2) + '\n');
  out.commit();
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(2) : '-') : v);
  const table = formatTable(
    ['pipeline', 'stage', 'n', 'live mean', 'sim mean', 'err %', 'live p95', 'sim p95', 'err %'],
    rows.map((r) => [r.pipeline, r.stage, r.requests, r.measured_mean_ms, r.predicted_mean_ms, r.error_mean_pct, r.measured_p95_ms, r.predicted_p95_ms, r.error_p95_pct].map((v) => String(fmt(v as string | number)))),
    [0, 1],
  );
  return { rows, files: out.paths(), table };
}

/** Runs `splitsim live` (see the module comment). */
export async function runLive(args: LiveArgs, log: (m: string) => void = () => undefined): Promise<LiveResult> {
  const outDir = path.resolve(args.out ?? path.join('results', loadScenario(args.scenario).scenario.name));
  checkOutputDir(outDir);
  const plan = await planLive(args, log);
  const { scenario, resolved, records, loaded } = plan;
  if (!resolved.measurement) throw new UserError(`${loaded.file}: no measured pipeline to run live`);
  const data = loadFashionMnistTest();
  const serveArgs = ['serve', '--scenario', loaded.file, '--runtime', plan.runtime, '--cpu-share', String(scenario.edge.cpuShare ?? 1), ...records.flatMap((r) => ['--pipeline', r.name])];
  log(`starting the tail server (${scenario.edge.workers} worker(s), maxBatch ${scenario.edge.maxBatch}, maxWaitMs ${scenario.edge.maxWaitMs}${scenario.edge.cpuShare !== undefined ? `, cpuShare ${scenario.edge.cpuShare}` : ''}; models on ${plan.runtime})`);
  const { child: server, ready: srv } = await Child.start<{ url: string; pipelines: string[]; backend: string }>(serveArgs, log);
  const runs: LivePipelineRun[] = [];
  try {
    for (const record of records) {
      // A fresh shaper per pipeline: its links start empty, as the simulator's do.
      const { child: shaper, ready: sh } = await Child.start<{ urls: string[] }>(
        ['shape', '--scenario', loaded.file, '--target', srv.url, '--seed', String(scenario.seed), '--devices', String(scenario.devices.count)], log);
      try {
        const run = await playPipeline(plan, record, data, {
          serverUrl: srv.url, pipelineId: srv.pipelines.indexOf(record.name), targets: sh.urls, log,
          atOrigin: async (origin) => { await shaper.ask({ cmd: 'origin', epochMs: origin }); },
        });
        const shStats = (await shaper.ask<{ stats: ShaperStats }>({ cmd: 'stats' })).stats;
        log(`${record.name}: shaper lateness mean ${shStats.lateness.meanMs.toFixed(3)} ms, max ${shStats.lateness.maxMs.toFixed(2)} ms, ${shStats.lateness.over1Ms} of ${shStats.lateness.count} over 1 ms`);
        runs.push({ ...run, shaper: shStats });
      } finally {
        await shaper.stop();
      }
    }
  } finally {
    await server.stop();
  }
  const w = writeLive(outDir, 'live', plan, runs, srv.backend);
  return { plan, runs, outDir, ...w };
}

/** Options of `splitsim device`: the live flags plus the server URL(s). */
export interface DeviceArgs extends LiveArgs {
  server: string[];
}

/**
 * Runs `splitsim device`: plays the scenario's devices for each named pipeline against a
 * running `splitsim serve` (device d sends to server[d % n]: a shaper's ports, or the server
 * over a real network), writes requests.csv (simulate's columns), predicted-requests.csv and
 * live.csv (the same comparison as `live`, with the scenario's or the flags' profiles).
 */
export async function runDevice(args: DeviceArgs, log: (m: string) => void = () => undefined): Promise<LiveResult> {
  const outDir = path.resolve(args.out ?? path.join('results', loadScenario(args.scenario).scenario.name, 'device'));
  checkOutputDir(outDir);
  const servers = args.server.map((u) => { parseTarget(u, '--server'); return u.replace(/\/+$/, ''); });
  const plan = await planLive(args, log);
  if (!plan.resolved.measurement) throw new UserError(`${plan.loaded.file}: no measured pipeline to run`);
  const data = loadFashionMnistTest();
  let info: { pipelines: Array<{ id: number; name: string }>; backend?: string };
  try {
    info = await getJson(`${servers[0]}/v1/pipelines`);
  } catch (e) {
    throw new UserError(`--server ${servers[0]}: no splitsim server answers there (${(e as Error).message})`);
  }
  const runs: LivePipelineRun[] = [];
  for (const record of plan.records) {
    const id = info.pipelines.find((p) => p.name === record.name)?.id;
    if (id === undefined && !record.local) throw new UserError(`--server ${servers[0]}: the server does not serve ${record.name} (it serves: ${info.pipelines.map((p) => p.name).join(', ')})`);
    runs.push(await playPipeline(plan, record, data, { serverUrl: servers[0], pipelineId: id ?? 0, targets: servers, log }));
  }
  const w = writeLive(outDir, 'device', plan, runs, info.backend);
  return { plan, runs, outDir, ...w };
}
