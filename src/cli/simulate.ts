import * as path from 'path';
import type { CommandModule } from 'yargs';
import { loadScenario } from '../config/scenario';
import { resolvePipelines } from '../sim/pipeline';
import { simulateScenario } from '../sim/system';
import { requestsCsv, toCsv } from '../report/csv';
import { summarizeRun, summaryColumns, type SummaryRow } from '../report/summary';
import { summaryTables } from '../report/table';
import { OutputSet } from '../util/atomic';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

/** Options of `splitsim simulate`. */
export interface SimulateArgs {
  scenario: string;
  out?: string;
  seed?: number;
  requestsCsv?: boolean;
  pipeline?: string[];
}

/** What a simulate run produced. */
export interface SimulateResult {
  rows: SummaryRow[];
  outDir: string;
  files: string[];
  table: string;
}

/**
 * Runs `simulate`: loads and validates the scenario, resolves its pipelines, simulates
 * each over the same seed streams, and writes summary.csv, run.json (and requests.csv)
 * into the output folder, all at the end and atomically.
 */
export async function runSimulate(args: SimulateArgs): Promise<SimulateResult> {
  if (args.seed !== undefined && !(Number.isInteger(args.seed) && args.seed >= 0 && args.seed <= 0xffffffff)) {
    throw new UserError(`--seed: expected an integer from 0 to 4294967295, got ${args.seed}`);
  }
  const { scenario: loaded, file } = loadScenario(args.scenario);
  const scenario = { ...loaded, seed: args.seed ?? loaded.seed };
  let pipelines = await resolvePipelines(scenario, file);
  if (args.pipeline && args.pipeline.length > 0) {
    const known = pipelines.map((p) => p.name);
    for (const name of args.pipeline) {
      if (!known.includes(name)) throw new UserError(`--pipeline: '${name}' is not a pipeline of ${file} (it has: ${known.join(', ')})`);
    }
    pipelines = pipelines.filter((p) => args.pipeline!.includes(p.name));
  }
  const runs = simulateScenario(scenario, pipelines);
  const rows = runs.map(summarizeRun);

  const outDir = path.resolve(args.out ?? path.join('results', scenario.name));
  const out = new OutputSet();
  out.add(path.join(outDir, 'summary.csv'), toCsv(rows, summaryColumns(rows)));
  if (args.requestsCsv) out.add(path.join(outDir, 'requests.csv'), requestsCsv(runs));
  const record = {
    command: 'simulate',
    splitsim_version: SPLITSIM_VERSION,
    node_version: process.version,
    scenario_file: file,
    seed: scenario.seed,
    pipelines: pipelines.map((p) => ({ name: p.name, meta: p.meta })),
    files: [...out.paths().map((f) => path.basename(f)), 'run.json'],
    scenario,
  };
  out.add(path.join(outDir, 'run.json'), JSON.stringify(record, null, 2) + '\n');
  out.commit();
  return { rows, outDir, files: out.paths(), table: summaryTables(rows) };
}

const command: CommandModule<object, SimulateArgs> = {
  command: 'simulate',
  describe: 'simulate a scenario: every pipeline through devices, uplink, edge server, downlink',
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true, describe: 'scenario name in scenarios/ (e.g. lte.yaml) or a path to a YAML file' })
      .option('out', { type: 'string', describe: 'output folder (default: results/<scenario name>)' })
      .option('seed', { type: 'number', describe: "overrides the scenario's seed" })
      .option('requests-csv', { type: 'boolean', default: false, describe: "also write requests.csv: every request's timeline" })
      .option('pipeline', { type: 'string', array: true, describe: 'simulate only these pipelines (repeatable)' }) as never,
  handler: async (args) => {
    const res = await runSimulate(args);
    const shown = res.files.map((f) => {
      const rel = path.relative(process.cwd(), f);
      return rel.startsWith('..') || path.isAbsolute(rel) ? f : rel;
    });
    process.stdout.write(`${res.table}\n\nwrote ${shown.join(', ')}\n`);
  },
};

export default command;
