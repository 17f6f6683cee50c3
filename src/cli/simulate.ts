import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { loadScenario } from '../config/scenario';
import { MEASUREMENT_COLUMNS } from '../measure/aggregate';
import { resolveScenario, type ResolvedScenario } from '../pipelines/resolve';
import { RequestCsvWriter, toCsv } from '../report/csv';
import { decide, type Decision, type Objective } from '../report/decision';
import { summarizeRun, summaryColumns, type SummaryRow } from '../report/summary';
import { buildReport, type RunRecord } from '../report/html';
import { summaryTables } from '../report/table';
import type { Simulator } from '../engine/simulator';
import { checkBudget, DEFAULT_BUDGET, eventGuard, type Budget } from '../sim/budget';
import { offeredLoad, overloadWarnings } from '../sim/capacity';
import { Progress } from '../util/progress';
import { simulateScenario } from '../sim/system';
import { checkOutputDir, OutputSet } from '../util/atomic';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

/** Options of `splitsim simulate`. */
export interface SimulateArgs {
  scenario: string;
  out?: string;
  seed?: number;
  requestsCsv?: boolean;
  pipeline?: string[];
  samples?: number;
  objective?: string;
  minAccuracy?: string;
  maxAccuracyDrop?: number;
  deadlineMs?: number;
  maxMiss?: number;
  workers?: number;
  maxRequests?: number;
  maxEvents?: number;
  quiet?: boolean;
  /** Skip report.html and the plots (a sweep writes its own). */
  noReport?: boolean;
}

/** What a simulate run produced. */
export interface SimulateResult {
  rows: SummaryRow[];
  decision: Decision;
  warnings: string[];
  resolved: ResolvedScenario;
  outDir: string;
  files: string[];
  table: string;
}

/** '0.9' or '90%' → 0.9. */
export function parseAccuracy(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const t = String(v).trim();
  const x = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (t === '' || !(x >= 0 && x <= 1)) throw new UserError(`${flag}: expected a top-1 as a fraction 0..1 or a percentage like 90%, got '${v}'`);
  return x;
}

export function checkArgs(a: SimulateArgs): void {
  const int = (v: number | undefined, flag: string, lo: number, hi: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi)) throw new UserError(`${flag}: expected an integer from ${lo} to ${hi}, got ${v}`);
  };
  int(a.seed, '--seed', 0, 0xffffffff);
  int(a.samples, '--samples', 1, 10000000);
  int(a.workers, '--workers', 1, 64);
  if (a.maxRequests !== undefined && !(a.maxRequests >= 1 && Number.isFinite(a.maxRequests))) throw new UserError(`--max-requests: expected a positive number, got ${a.maxRequests}`);
  if (a.maxEvents !== undefined && !(a.maxEvents >= 1 && Number.isFinite(a.maxEvents))) throw new UserError(`--max-events: expected a positive number, got ${a.maxEvents}`);
  if (a.objective !== undefined && !['latency', 'p95', 'energy'].includes(a.objective)) throw new UserError(`--objective: expected latency, p95 or energy, got '${a.objective}'`);
  if (a.maxAccuracyDrop !== undefined && !(a.maxAccuracyDrop >= 0 && a.maxAccuracyDrop <= 100)) throw new UserError(`--max-accuracy-drop: expected points from 0 to 100, got ${a.maxAccuracyDrop}`);
  if (a.deadlineMs !== undefined && !(a.deadlineMs > 0 && Number.isFinite(a.deadlineMs))) throw new UserError(`--deadline-ms: expected a positive number of ms, got ${a.deadlineMs}`);
  if (a.maxMiss !== undefined && !(a.maxMiss >= 0 && a.maxMiss <= 1)) throw new UserError(`--max-miss: expected a share from 0 to 1, got ${a.maxMiss}`);
}

/**
 * Runs `simulate`: loads and validates the scenario, resolves its pipelines (measuring what
 * the cache lacks), warns about overloaded resources, simulates every pipeline over the
 * same seed streams, decides, and writes summary.csv (ranked), run.json, measurements.csv
 * and measurements.json (and requests.csv) into the output folder, all at the end.
 */
export async function runSimulate(args: SimulateArgs, log: (msg: string) => void = () => undefined): Promise<SimulateResult> {
  checkArgs(args);
  if (args.out !== undefined) checkOutputDir(args.out);
  const minAccuracy = parseAccuracy(args.minAccuracy, '--min-accuracy');
  const { scenario: loaded, file } = loadScenario(args.scenario);
  const scenario = { ...loaded, seed: args.seed ?? loaded.seed, deadlineMs: args.deadlineMs ?? loaded.deadlineMs };
  const resolved = await resolveScenario({ scenario, file }, { samples: args.samples, only: args.pipeline, log, workers: args.workers });
  let records = resolved.records;
  if (args.deadlineMs !== undefined) records = records.map((r) => ({ ...r, deadlineMs: args.deadlineMs }));
  const budget: Budget = { maxRequests: args.maxRequests ?? DEFAULT_BUDGET.maxRequests, maxEvents: args.maxEvents ?? DEFAULT_BUDGET.maxEvents };
  const estimates = checkBudget(scenario, records, budget, file);
  const loads = records.map((r) => offeredLoad(scenario, r));
  const warnings = overloadWarnings(scenario, records, loads);
  const shown = warnings.slice(0, 10);
  for (const w of shown) log(`warning: ${w}`);
  if (warnings.length > shown.length) log(`warning: ... and ${warnings.length - shown.length} more overloaded resources (summary.csv *_load columns)`);

  const outDir = path.resolve(args.out ?? path.join('results', scenario.name));
  const out = new OutputSet(outDir, 'simulate');
  let csv: RequestCsvWriter | undefined;
  let runs;
  try {
    if (args.requestsCsv) csv = new RequestCsvWriter(out.streamPath('requests.csv'));
    // Progress in events (estimated) over all pipelines: on a terminal, or for long runs anywhere.
    const totalEvents = estimates.reduce((a, b) => a + b, 0);
    const progress = new Progress(totalEvents, !args.quiet && (process.stderr.isTTY === true || totalEvents > 5e7), `simulating ${records.length} pipeline(s)`);
    let doneEvents = 0;
    runs = simulateScenario(scenario, records, {
      power: resolved.power,
      radio: resolved.radio,
      sinkFor: (p) => csv?.sink(p.name),
      tickFor: (p, i) => {
        const guard = eventGuard(p.name, estimates[i], budget, () => sim.eventsProcessed, () => sim.nowMs);
        let sim!: Simulator;
        return (s) => { sim = s; guard(); progress.set(doneEvents + Math.min(s.eventsProcessed, estimates[i])); };
      },
      onDone: (i) => { doneEvents += estimates[i]; progress.set(doneEvents); },
    });
    progress.finish();
    csv?.close();
  } catch (e) {
    out.abort();
    throw e;
  }
  const refRecord = records.find((r) => r.name === resolved.reference);
  const reference = refRecord?.samples ? { name: refRecord.name, correct: refRecord.samples.correct } : undefined;
  const radioName = resolved.radio?.name;
  const rows = runs.map((run, i) => summarizeRun(run, { reference, load: loads[i], deviceProfile: resolved.deviceProfile, edgeProfile: resolved.edgeProfile, radio: radioName }));
  const d = scenario.decision;
  const decision = decide(rows, {
    objective: (args.objective as Objective | undefined) ?? d.objective,
    minAccuracy: minAccuracy ?? d.minAccuracy,
    maxAccuracyDrop: args.maxAccuracyDrop ?? d.maxAccuracyDrop,
    reference: resolved.reference,
    maxMissRatio: args.maxMiss ?? d.maxMissRatio,
  });

  const summaryCsv = toCsv(decision.rows, summaryColumns());
  out.add('summary.csv', summaryCsv);
  const m = resolved.measurement;
  if (m) {
    out.add(path.join(outDir, 'measurements.csv'), toCsv(m.rows as unknown as Array<Record<string, string | number>>, [...MEASUREMENT_COLUMNS]));
    out.add(path.join(outDir, 'measurements.json'), JSON.stringify({
      command: 'simulate',
      splitsim_version: SPLITSIM_VERSION,
      backend: m.backend,
      seed: m.seed,
      samples: m.samples,
      sample_indices: m.samples < 10000 ? m.sampleIndices : 'all',
      dataset_hash: m.datasetHash,
      models: m.models,
      codec_costs: m.codecCosts,
      pipelines: m.rows.length,
    }, null, 2) + '\n');
  }
  const record = {
    command: 'simulate',
    splitsim_version: SPLITSIM_VERSION,
    node_version: process.version,
    scenario_file: file,
    seed: scenario.seed,
    backend: m?.backend ?? null,
    device_profile: resolved.deviceProfile ?? null,
    edge_profile: resolved.edgeProfile ?? null,
    radio: resolved.radio ?? null,
    reference: resolved.reference ?? null,
    decision: {
      objective: (args.objective as Objective | undefined) ?? d.objective,
      accuracy_floor: decision.accuracyFloor ?? null,
      accuracy_floor_reason: decision.floorReason ?? null,
      max_miss_ratio: args.maxMiss ?? d.maxMissRatio,
      deadline_ms: scenario.deadlineMs ?? null,
      best: decision.best?.pipeline ?? null,
    },
    warnings,
    pipelines: records.map((r) => ({
      name: r.name, source: r.source, kind: r.kind, model: r.model, split: r.split, codec: r.codec, params: r.params,
      ...(r.measured ? { measured: r.measured } : {}),
      ...(r.tailBatchMs && r.tailBatchMs.length > 1 ? { tail_batch_ms: Array.from(r.tailBatchMs) } : {}),
    })),
    measurement: m ? { samples: m.samples, seed: m.seed, dataset_hash: m.datasetHash, models: m.models, codec_costs: m.codecCosts, host_sysbench_events_per_s: m.hostSysbench } : null,
    files: [...out.paths().map((f) => path.basename(f)), 'run.json'],
    scenario,
  };
  out.add(path.join(outDir, 'run.json'), JSON.stringify(record, null, 2) + '\n');
  if (!args.noReport) {
    // The report is built from the files' own text, as `splitsim report` rebuilds it.
    try {
      for (const [f, data] of (await buildReport({ summaryCsv, run: JSON.parse(JSON.stringify(record)) as RunRecord })).files) out.add(f, data);
    } catch (e) {
      out.abort();
      throw e;
    }
  }
  out.commit();
  return { rows: decision.rows, decision, warnings, resolved, outDir, files: out.paths(), table: summaryTables(decision.rows, decision) };
}

/** The decision's constraint flags (simulate and sweep). */
export const CONSTRAINT_OPTIONS = {
  'min-accuracy': { type: 'string', describe: 'lowest acceptable top-1, 0..1 or a percentage (90%)' },
  'max-accuracy-drop': { type: 'number', describe: 'largest acceptable top-1 drop against the unsplit model, in points (default 1.5 when no --min-accuracy)' },
  'deadline-ms': { type: 'number', describe: "end-to-end deadline for every pipeline (overrides the scenario's)" },
  'max-miss': { type: 'number', describe: 'largest acceptable share of requests missing the deadline (default 0.05)' },
} as const satisfies Parameters<Argv['options']>[0];

const command: CommandModule<object, SimulateArgs> = {
  command: 'simulate',
  describe: 'simulate a scenario: every pipeline through devices, uplink, edge server, downlink; rank them and pick the best',
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true, describe: 'scenario name in scenarios/ (e.g. lte.yaml) or a path to a YAML file' })
      .option('out', { type: 'string', describe: 'output folder (default: results/<scenario name>)' })
      .option('seed', { type: 'number', describe: "overrides the scenario's seed" })
      .option('samples', { type: 'number', describe: "test samples measured (overrides the scenario's samples; at most the dataset's size)" })
      .option('objective', { type: 'string', choices: ['latency', 'p95', 'energy'], describe: 'what the best pipeline minimises (default: the scenario decision, else latency = mean end-to-end)' })
      .options(CONSTRAINT_OPTIONS)
      .option('requests-csv', { type: 'boolean', default: false, describe: "also write requests.csv: every request's timeline" })
      .option('workers', { type: 'number', describe: 'measurement processes (default 2)' })
      .option('max-requests', { type: 'number', describe: `refuse runs of more requests per pipeline (default ${DEFAULT_BUDGET.maxRequests}, about 1 GB)` })
      .option('max-events', { type: 'number', describe: `refuse or stop runs of more events per pipeline (default ${DEFAULT_BUDGET.maxEvents})` })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar on stderr' })
      .option('pipeline', { type: 'string', array: true, describe: 'simulate only these pipelines (repeatable; names as printed)' }) as never,
  handler: async (args) => {
    const res = await runSimulate(args, (msg) => { if (!args.quiet || msg.startsWith('warning')) process.stderr.write(`splitsim: ${msg}\n`); });
    const shown = res.files.map((f) => {
      const rel = path.relative(process.cwd(), f);
      return rel.startsWith('..') || path.isAbsolute(rel) ? f : rel;
    });
    process.stdout.write(`${res.table}\n\nwrote ${shown.join(', ')}\n`);
  },
};

export default command;
