import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { readTextFile } from '../config/load';
import { buildReport, type RunRecord } from '../report/html';
import type { SweepMeta } from '../sweep/analyze';
import { OutputSet } from '../util/atomic';
import { UserError } from '../util/errors';

/** Options of `splitsim report`. */
export interface ReportArgs {
  dir: string;
}

function readJson(file: string): unknown {
  const text = readTextFile(file, 'result file');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Rebuilds report.html and the plots of a results folder from its files: summary.csv and
 * run.json (written by simulate and sweep), and sweep.csv with sweep.json when a sweep ran.
 */
export async function runReport(args: ReportArgs): Promise<{ files: string[] }> {
  const dir = path.resolve(args.dir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${args.dir}: not a folder (expected a results folder holding summary.csv and run.json)`);
  const at = (f: string) => path.join(dir, f);
  for (const f of ['summary.csv', 'run.json']) {
    if (!fs.existsSync(at(f))) throw new UserError(`${at(f)}: missing; a results folder of 'splitsim simulate' or 'splitsim sweep' holds summary.csv and run.json`);
  }
  const hasCsv = fs.existsSync(at('sweep.csv'));
  const hasJson = fs.existsSync(at('sweep.json'));
  if (hasCsv !== hasJson) throw new UserError(`${at(hasCsv ? 'sweep.json' : 'sweep.csv')}: missing (a sweep writes sweep.csv and sweep.json together)`);
  let sweep: { csv: string; meta: SweepMeta } | undefined;
  if (hasCsv) {
    const meta = readJson(at('sweep.json')) as SweepMeta;
    if (meta?.command !== 'sweep' || !Array.isArray(meta.axes) || !Array.isArray(meta.points)) throw new UserError(`${at('sweep.json')}: not a sweep description (expected command 'sweep', axes and points)`);
    sweep = { csv: readTextFile(at('sweep.csv'), 'sweep.csv', 1 << 30), meta };
  }
  let built;
  try {
    built = await buildReport({ summaryCsv: readTextFile(at('summary.csv'), 'summary.csv', 1 << 30), run: readJson(at('run.json')) as RunRecord, sweep });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${dir}: cannot build the report from its files: ${(e as Error).message}`);
  }
  const out = new OutputSet(dir, 'report');
  for (const [f, data] of built.files) out.add(f, data);
  out.commit();
  return { files: out.paths() };
}

const command: CommandModule<object, ReportArgs> = {
  command: 'report <dir>',
  describe: "rebuild report.html and the plots of a results folder from its CSV and JSON files",
  builder: (y) => y.positional('dir', { type: 'string', demandOption: true, describe: 'a results folder (e.g. results/lte)' }) as never,
  handler: async (args) => {
    const res = await runReport(args);
    process.stdout.write(`wrote ${res.files.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
  },
};

export default command;
