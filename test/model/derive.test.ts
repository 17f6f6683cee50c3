import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/model/backend';
import { deriveModelMeta, prepareModel } from '../../src/model/derive';
import { resolveZooModel } from '../../src/model/meta';
import { splitModel } from '../../src/model/split';
import { loadModelDir } from '../../src/model/zoo';
import { candidates, modelInfo } from '../../src/pipelines/candidates';
import { pipelineName } from '../../src/pipelines/ref';
import { UserError } from '../../src/util/errors';
import { writeBareModel } from '../data/helpers';

/**
 * A model folder without meta.json: its input, classes, cut points and candidate split points
 * come from its graph; models tfjs cannot build, or that are no fixed-size image classifier,
 * are refused naming the layer or the shape.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-derive-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const bare = path.join(work, 'bare');

beforeAll(async () => {
  await writeBareModel(bare, 32, 4);
});

test('candidates are the fused-group ends that send fewer values than anything before them', async () => {
  const m = await deriveModelMeta(bare);
  expect(m.input.shape).toEqual([32, 32, 3]);
  expect(m.derived.classes).toBe(4);
  // conv1 (16x16x8 = 2048 < 3072 input values), conv2 (16x16x16, larger: skipped),
  // conv3 (8x8x16 = 1024), pool (16); BN and activation outputs only at the end of their group.
  expect(m.splitPoints).toEqual(['conv1_relu', 'conv3_relu', 'pool']);
  expect(m.derived.cutPoints).toEqual(['conv1', 'conv1_bn', 'conv1_relu', 'conv2', 'conv2_bn', 'conv2_relu', 'conv3', 'conv3_bn', 'conv3_relu', 'pool']);
});

test('the sync readers see the derived metadata once prepared; pipelines expand over its split points', async () => {
  expect(() => resolveZooModel(bare)).toThrow(/no meta\.json, and its graph was not analysed/);
  await prepareModel(bare);
  const e = resolveZooModel(bare);
  expect(e.name).toBe('bare');
  const all = candidates(modelInfo(e)).map(pipelineName);
  expect(all.length).toBe(1 + 22 + 3 * 44);
  expect(all).toContain('bare/conv3_relu/quant[bits=4;granularity=tensor;entropy=rans]');
});

test('loaded and split at every candidate, head then tail gives the whole model', async () => {
  const zm = await loadModelDir(bare);
  const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 7);
  const whole = (zm.model.predict(x) as tf.Tensor).dataSync();
  for (const s of zm.meta.splitPoints) {
    const copy = await loadModelDir(bare);
    const sm = splitModel(copy, s);
    const y = sm.tail.predict(sm.head.predict(x) as tf.Tensor) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(whole));
  }
});

function edit(name: string, change: (topology: Record<string, any>) => void): string {
  const dir = path.join(work, name);
  fs.cpSync(bare, dir, { recursive: true });
  const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  change(j.modelTopology);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
  return dir;
}

test('a layer class tfjs does not know is refused, naming the layer', async () => {
  const dir = edit('unknown', (t) => { t.config.layers[2].class_name = 'FancyNorm'; });
  const err = await deriveModelMeta(dir).catch((e) => e);
  expect(err).toBeInstanceOf(UserError);
  expect(err.message).toMatch(new RegExp(`${path.join(dir, 'model.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: tfjs cannot load layer 'conv1_bn' \\(class FancyNorm\\)`));
  await expect(loadModelDir(dir)).rejects.toThrow(/layer 'conv1_bn' \(class FancyNorm\)/);
  // The sync reader reports the same once prepared.
  await prepareModel(dir);
  expect(() => resolveZooModel(dir)).toThrow(/layer 'conv1_bn' \(class FancyNorm\)/);
});

test('an input of unknown size is refused with its shape', async () => {
  const dir = edit('dynamic', (t) => { t.config.layers[0].config.batch_input_shape = [null, null, null, 3]; });
  await expect(deriveModelMeta(dir)).rejects.toThrow(/input layer 'image' has shape \[null, null, null, 3\]; expected a fixed \[batch, height, width, channels\] image/);
});
