import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import type { Scenario } from '../config/scenario';
import { decide, type Objective } from '../report/decision';
import { toCsv } from '../report/csv';
import { buildReport, type RunRecord } from '../report/html';
import { summaryColumns, type SummaryRow } from '../report/summary';
import { buildSweep, readScenarioData, type Axis, type SweepPoint } from '../sweep/axes';
import { findingsJson, type SweepAnalysis, type SweepMeta } from '../sweep/analyze';
import { runPoints } from '../sweep/parallel';
import { Resolutions } from '../sweep/point';
import { checkBudget, DEFAULT_BUDGET, type Budget } from '../sim/budget';
import type { Constraints } from '../sweep/regimes';
import { checkOutputDir, OutputSet } from '../util/atomic';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';
import { checkArgs, CONSTRAINT_OPTIONS, parseAccuracy, runSimulate, type SimulateArgs } from './simulate';

/** Options of `splitsim sweep`. */
export interface SweepArgs extends Omit<SimulateArgs, 'requestsCsv' | 'quiet' | 'noReport'> {
  vary?: string[];
  steps?: number;
  log?: boolean;
  device?: string[];
  edge?: string[];
}

/** What a sweep produced. */
export interface SweepResult {
  axes: Axis[];
  points: SweepPoint[];
  /** sweep.csv's rows: every (point, pipeline), ranked per point by the objective. */
  rows: SummaryRow[];
  analysis: SweepAnalysis;
  outDir: string;
  files: string[];
  /** Wall time of the points' simulation, s (reported on stderr only). */
  simulateS: number;
}

/** A flag and a swept field that set the same thing. */
const CONFLICTS: Array<[string, keyof SweepArgs, string]> = [
  ['deadlineMs', 'deadlineMs', '--deadline-ms'],
  ['decision.minAccuracy', 'minAccuracy', '--min-accuracy'],
  ['decision.maxAccuracyDrop', 'maxAccuracyDrop', '--max-accuracy-drop'],
  ['decision.maxMissRatio', 'maxMiss', '--max-miss'],
];

/**
 * Runs `sweep`: validates the axes (every point's scenario, before anything runs), simulates
 * the scenario as given (summary.csv, run.json, as simulate writes them), then every point
 * over worker processes from the measurement cache, decides each point, finds the regimes,
 * and writes sweep.csv, sweep.json, the plots and report.html, all at the end.
 */
export async function runSweep(args: SweepArgs, log: (msg: string) => void = () => undefined): Promise<SweepResult> {
  checkArgs(args);
  if (args.out !== undefined) checkOutputDir(args.out);
  const minAccuracy = parseAccuracy(args.minAccuracy, '--min-accuracy');
  const { file, raw } = readScenarioData(args.scenario);
  const { axes, points, notes } = buildSweep(file, raw, args);
  for (const [field, flag, name] of CONFLICTS) {
    if (args[flag] !== undefined && axes.some((a) => a.field === field)) throw new UserError(`${name} and --vary ${field} both set ${field}; give one of them`);
  }
  const override = (s: Scenario): Scenario => ({ ...s, seed: args.seed ?? s.seed, deadlineMs: args.deadlineMs ?? s.deadlineMs });
  const scenarios = points.map((p) => override(p.scenario));
  const resolveOpts = { samples: args.samples, only: args.pipeline };

  // Every point's pipelines (profiles, batch sizes) and size are checked before anything is
  // written; the first resolution measures what the cache lacks.
  const resolutions = new Resolutions(file, { ...resolveOpts, log, workers: args.workers });
  const budget: Budget = { maxRequests: args.maxRequests ?? DEFAULT_BUDGET.maxRequests, maxEvents: args.maxEvents ?? DEFAULT_BUDGET.maxEvents };
  for (const [i, s] of scenarios.entries()) {
    try {
      const resolved = await resolutions.get(s);
      const records = args.deadlineMs === undefined ? resolved.records : resolved.records.map((r) => ({ ...r, deadlineMs: args.deadlineMs }));
      checkBudget(s, records, budget, file);
    } catch (e) {
      const what = axes.map((a, k) => `${a.field}=${points[i].values[k]}`).join(', ');
      throw e instanceof UserError ? new UserError(`sweep point ${what}: ${e.message}`) : e;
    }
  }
  // The scenario as given: simulate's files.
  const base = await runSimulate({ ...args, noReport: true }, log);

  const t0 = process.hrtime.bigint();
  const workers = args.workers ?? 2;
  const results = await runPoints({ file, resolve: resolveOpts, deadlineMs: args.deadlineMs }, scenarios, workers);
  const simulateS = Number(process.hrtime.bigint() - t0) / 1e9;
  const pipelines = results[0]?.rows.length ?? 0;
  log(`sweep: ${points.length} points x ${pipelines} pipelines simulated in ${simulateS.toFixed(1)} s (${Math.min(workers, points.length)} process(es))`);
  const overloaded = results.reduce((a, r) => a + r.overloaded, 0);
  if (overloaded > 0) log(`warning: at ${overloaded} (point, pipeline, resource) triples a resource is offered at least its capacity, so its queues grow for the whole run (sweep.csv *_load columns)`);

  const objective: Objective = (args.objective as Objective | undefined) ?? base.resolved.scenario.decision.objective;
  const constraints: Constraints[] = scenarios.map((s) => ({
    minAccuracy: minAccuracy ?? s.decision.minAccuracy,
    maxAccuracyDrop: args.maxAccuracyDrop ?? s.decision.maxAccuracyDrop,
    reference: base.resolved.reference,
    maxMissRatio: args.maxMiss ?? s.decision.maxMissRatio,
  }));
  const rows: SummaryRow[] = [];
  results.forEach((r, i) => {
    const axisCells = Object.fromEntries(axes.map((a, k) => [a.field, points[i].values[k]]));
    for (const row of decide(r.rows, { ...constraints[i], objective }).rows) rows.push({ point: i, ...axisCells, ...row } as SummaryRow);
  });
  const sweepCsv = toCsv(rows, ['point', ...axes.map((a) => a.field), ...summaryColumns()]);
  const meta: SweepMeta = {
    command: 'sweep',
    splitsim_version: SPLITSIM_VERSION,
    scenario: base.resolved.scenario.name,
    scenario_file: file,
    seed: args.seed ?? base.resolved.scenario.seed,
    objective,
    axes,
    notes,
    points: points.map((p, i) => ({ point: i, values: p.values, constraints: JSON.parse(JSON.stringify(constraints[i])) as Constraints })),
  };
  // The report comes from the files' text (the base run's as written), as `splitsim report` rebuilds it.
  const outDir = base.outDir;
  const report = await buildReport({
    summaryCsv: fs.readFileSync(path.join(outDir, 'summary.csv'), 'utf8'),
    run: JSON.parse(fs.readFileSync(path.join(outDir, 'run.json'), 'utf8')) as RunRecord,
    sweep: { csv: sweepCsv, meta },
  });
  const out = new OutputSet(outDir, 'sweep');
  out.add('sweep.csv', sweepCsv);
  out.add('sweep.json', JSON.stringify({ ...meta, regimes: findingsJson(report.sweep!) }, null, 2) + '\n');
  for (const [f, data] of report.files) out.add(f, data);
  out.commit();
  return { axes, points, rows, analysis: report.sweep!, outDir, files: [...base.files, ...out.paths()], simulateS };
}

const command: CommandModule<object, SweepArgs> = {
  command: 'sweep',
  describe: 'vary scenario fields (a range, a list, or profiles; two for a grid): where is each pipeline best, and where does the best one change',
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true, describe: 'scenario name in scenarios/ (e.g. lte.yaml) or a path to a YAML file' })
      .option('vary', { type: 'string', array: true, describe: 'FIELD=LO..HI (with --steps N, [--log]) or FIELD=v1,v2,...: a numeric scenario field by its path (uplink.rateBps, devices.count, devices.arrival.fps, edge.workers, deadlineMs, uplink.delayMs, uplink.loss.p, ...); twice for a grid' })
      .option('steps', { type: 'number', describe: 'values from LO to HI of a range, both included (at least 2)' })
      .option('log', { type: 'boolean', default: false, describe: 'space the values of a range evenly in log scale' })
      .option('device', { type: 'string', array: true, describe: 'vary devices.profile over these profiles (a,b,... or repeated)' })
      .option('edge', { type: 'string', array: true, describe: 'vary edge.profile over these profiles (a,b,... or repeated)' })
      .option('out', { type: 'string', describe: 'output folder (default: results/<scenario name>)' })
      .option('seed', { type: 'number', describe: "overrides the scenario's seed" })
      .option('samples', { type: 'number', describe: "test samples measured (overrides the scenario's samples)" })
      .option('objective', { type: 'string', choices: ['latency', 'p95', 'energy'], describe: "the objective of sweep.csv's ranks (regimes are printed for every objective)" })
      .options(CONSTRAINT_OPTIONS)
      .option('workers', { type: 'number', describe: 'processes the points are simulated on (and measurement, when the cache lacks something; default 2)' })
      .option('max-requests', { type: 'number', describe: `refuse points of more requests per pipeline (default ${DEFAULT_BUDGET.maxRequests})` })
      .option('max-events', { type: 'number', describe: `refuse points of more events per pipeline (default ${DEFAULT_BUDGET.maxEvents})` })
      .option('pipeline', { type: 'string', array: true, describe: 'sweep only these pipelines (repeatable; names as printed)' }) as never,
  handler: async (args) => {
    const res = await runSweep(args, (msg) => process.stderr.write(`splitsim: ${msg}\n`));
    const shown = res.files.map((f) => {
      const rel = path.relative(process.cwd(), f);
      return rel.startsWith('..') || path.isAbsolute(rel) ? f : rel;
    });
    const plots = shown.filter((f) => f.includes(`${path.sep}plots${path.sep}`) || f.startsWith(`plots${path.sep}`));
    const other = shown.filter((f) => !plots.includes(f));
    process.stdout.write(`${res.analysis.text}\n\nwrote ${other.join(', ')} and ${plots.length} plot files in ${path.dirname(plots[0] ?? res.outDir)}\n`);
  },
};

export default command;
