/**
 * `splitsim pipelines [--model M] [--json]`: what a scenario can name. For each model: its
 * splits (the two extremes and the split points), the codecs usable at each with their
 * parameters (type, range, default), and how many candidates `all` gives; then the codec
 * parameter reference. Read from meta.json and the codec registry (no model runs).
 */
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { CODECS, describeParam } from '../codecs/registry';
import { listZooModels, resolveZooModel, ZOO_DIR } from '../model/meta';
import { candidates, codecsAt, modelInfo, splitNames, type ModelInfo } from '../pipelines/candidates';
import { DEVICE_ONLY, INPUT_SPLIT, pipelineName } from '../pipelines/ref';
import { formatTable } from '../report/table';
import { prepareModels } from '../model/derive';

interface Args {
  model?: string;
  zoo?: string;
  json?: boolean;
}

/** The listing as data. */
export function pipelineListing(models: ModelInfo[]) {
  return {
    models: models.map((m) => ({
      name: m.name,
      kind: m.kind,
      splits: splitNames(m).map((split) => ({
        split,
        codecs: split === DEVICE_ONLY ? [] : codecsAt(m, split).map((e) => e.key),
        example: split === DEVICE_ONLY ? `${m.name}/${DEVICE_ONLY}` : `${m.name}/${split}/${codecsAt(m, split)[0]?.key ?? ''}`,
      })),
      all: candidates(m).map(pipelineName),
    })),
    codecs: CODECS.map((e) => ({
      key: e.key,
      kind: e.kind,
      description: e.description,
      needs: e.needs ?? null,
      params: Object.fromEntries(Object.entries(e.params.shape).map(([k, v]) => [k, describeParam(v as never)])),
      sweep: e.sweep.length,
    })),
  };
}

/** The text listing. */
export function pipelineText(models: ModelInfo[]): string {
  const l = pipelineListing(models);
  const out: string[] = [];
  out.push("Pipelines are named 'model/split/codec[name=value;...]' (omitted parameters take their defaults),");
  out.push(`'model/${DEVICE_ONLY}', 'model/all' or 'all'; scenarios may also give sweeps, e.g. {jpeg: {quality: [10, 50, 90]}}.`);
  for (const m of l.models) {
    out.push('', `${m.name} (${m.kind}): 'all' = ${m.all.length} pipelines`);
    out.push(formatTable(['split', 'codecs', 'e.g.'], m.splits.map((s) => [
      s.split === INPUT_SPLIT ? `${s.split} (server-only)` : s.split, s.codecs.join(', ') || '(none: nothing is sent)', s.example,
    ]), [1, 2]));
  }
  out.push('', 'codecs:');
  out.push(formatTable(['codec', 'kind', 'parameters (type range, default)', 'sweep', 'what'], l.codecs.map((c) => [
    c.key, c.kind + (c.needs ? ` (${c.needs})` : ''),
    Object.entries(c.params).map(([k, d]) => `${k}: ${d.type} ${d.range}, ${d.default}`).join('; ') || '-',
    String(c.sweep), c.description,
  ]), [1, 2, 4]));
  return out.join('\n') + '\n';
}

const command: CommandModule<object, Args> = {
  command: 'pipelines',
  describe: 'List what a scenario can name: models, splits, codecs and their parameters',
  builder: (y) =>
    y
      .option('model', { type: 'string', describe: 'one model (zoo name or model folder); default: every zoo model' })
      .option('zoo', { type: 'string', describe: 'model zoo folder (default: the package models/)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (args) => {
    const zooDir = args.zoo ? path.resolve(args.zoo) : ZOO_DIR;
    const names = args.model ? [args.model] : listZooModels(zooDir);
    await prepareModels(names, process.cwd()); // a folder without meta.json: split points from its graph
    const models = names.map((n) => modelInfo(resolveZooModel(n, zooDir)));
    process.stdout.write(args.json ? JSON.stringify(pipelineListing(models), null, 2) + '\n' : pipelineText(models));
  },
};

export default command;
