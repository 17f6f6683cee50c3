import * as fs from 'fs';
import * as path from 'path';
import { cliHarness } from '../helpers/cli';
import { writeBareModel, writeLabelledFolder } from '../data/helpers';

/**
 * Bring-your-own model and images through the compiled command line: a bare LayersModel
 * folder (no meta.json) on a labelled image folder, measured whole, as --jobs 4 and as four
 * --shard runs merged (byte-identical files), simulated from a scenario; and the bad inputs
 * (unreadable image, a labels line naming a missing image, a label beyond the model's
 * classes, an incomplete set of shards) exit 2 naming the file and write nothing.
 */
const { maybe, work, run } = cliHarness('shard', path.join('src', 'cli', 'merge.js'));
const model = path.join(work, 'bare');
const images = path.join(work, 'images');
const env = (cache: string) => ({ env: { ...process.env, SPLITSIM_CACHE_DIR: path.join(work, cache) } });
const read = (dir: string, f: string) => fs.readFileSync(path.join(work, dir, f), 'utf8');

maybe('measure --jobs / --shard and merge on an image folder (compiled)', () => {
  beforeAll(async () => {
    await writeBareModel(model, 32, 4);
    await writeLabelledFolder(images, 4, 55);
    fs.writeFileSync(path.join(work, 'byo.yaml'), [
      'name: byo', 'seed: 3', 'duration: { seconds: 5 }', 'model: ./bare',
      'dataset: { path: ./images, labels: labels.txt, resize: 36, crop: 32, scale: "[-1,1]" }', 'samples: 220',
      'devices: { count: 1, arrival: { type: periodic, fps: 5 }, profile: raspberry-pi-4, radio: lte }',
      'uplink: { type: constant, rateBps: 5000000, delayMs: 20 }', 'downlink: { type: constant, rateBps: 10000000, delayMs: 20 }',
      'edge: { profile: t4 }', 'pipelines:', '  - jpeg: { quality: [30, 90] }',
      '  - { split: [conv1_relu, conv3_relu], quant: { bits: [8, 2], entropy: [packed, rans] } }', '  - bare/pool/float16', '',
    ].join('\n'));
  }, 120000);

  test('a scenario measured whole, as --jobs 4 and as four shards merged: the same bytes', () => {
    // device-only; JPEG at 2 qualities and the other 5 input codecs at their defaults (the
    // extremes are always evaluated); 2 splits x 4 quantisers; float16 at the pool.
    const total = 1 + 2 + 5 + 8 + 1;
    const one = run(['measure', '--scenario', 'byo.yaml', '--workers', '1', '--out', 'one'], env('c1'));
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`measured ${total} pipelines on 220 samples (${total} run, 0 from cache; ${total * 220} pipeline-samples run now)`);
    const csv = read('one', 'measurements.csv').trim().split('\n');
    expect(csv.length).toBe(1 + total);
    expect(csv.some((l) => l.startsWith('bare/conv3_relu/quant[bits=2;granularity=channel;entropy=rans],bare,conv3_relu,quant,'))).toBe(true);
    // RGB input codecs: raw sends the 32x32x3 capture.
    expect(csv.find((l) => l.startsWith('bare/input/raw,'))).toMatch(/,220,[0-9.]+,[0-9.]+,3072,3072,3072,3072,3072,,3072,/);

    const jobs = run(['measure', '--scenario', 'byo.yaml', '--jobs', '4', '--out', 'jobs'], env('c2'));
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toMatch(/with 4 local shard processes, merged/);
    expect(read('jobs', 'measurements.csv')).toBe(read('one', 'measurements.csv'));
    expect(read('jobs', 'measurements.json')).toBe(read('one', 'measurements.json'));

    for (let i = 0; i < 4; i++) {
      const s = run(['measure', '--scenario', 'byo.yaml', '--shard', `${i}/4`, '--out', 'parts'], env('c3'));
      expect(s.code).toBe(0);
      expect(s.stdout).toContain(`measured shard ${i}/4`);
    }
    const m = run(['merge', 'parts', '--out', 'merged'], env('c3'));
    expect(m.code).toBe(0);
    expect(m.stdout).toContain(`merged 4 shard(s): ${total} pipelines on 220 samples`);
    expect(read('merged', 'measurements.csv')).toBe(read('one', 'measurements.csv'));
    expect(read('merged', 'measurements.json')).toBe(read('one', 'measurements.json'));
    // merge stored the whole run in the cache: the same measurement is now served from it.
    const again = run(['measure', '--scenario', 'byo.yaml', '--out', 'again'], env('c3'));
    expect(again.stdout).toContain(`(0 run, ${total} from cache; 0 pipeline-samples run now)`);

    fs.rmSync(path.join(work, 'parts', 'measurements.shard-2-of-4.json'));
    const missing = run(['merge', 'parts', '--out', 'never'], env('c3'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/merge: shard\(s\) 2\/4 missing \(given: .*shard-0-of-4\.json/);
    expect(fs.existsSync(path.join(work, 'never'))).toBe(false);
  }, 300000);

  test('the scenario is simulated like the zoo\'s, from the measurement merge cached', () => {
    const r = run(['simulate', '--scenario', 'byo.yaml', '--out', 'byo-out'], env('c3'));
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/0 measured, 17 from cache/);
    const summary = read('byo-out', 'summary.csv');
    for (const p of ['bare/device-only', 'bare/conv3_relu/quant[bits=8;granularity=channel;entropy=rans]', 'bare/input/jpeg[quality=30]', 'bare/input/avif[quality=50]']) expect(summary).toContain(p);
  }, 300000);

  test('bad images and labels exit 2 naming the file; nothing is written', () => {
    const bad = path.join(work, 'bad');
    fs.cpSync(images, bad, { recursive: true });
    const flags = (out: string) => ['measure', '--models', model, '--data', bad, '--labels', 'labels.txt', '--crop', '32', '--samples', '20', '--out', out];
    const labels = path.join(bad, 'labels.txt');
    const original = fs.readFileSync(labels, 'utf8');
    const lines = original.trim().split('\n');

    fs.writeFileSync(path.join(bad, 'images', 'img_0005.jpg'), 'garbage, not a JPEG');
    const unreadable = run(flags('o1'), env('c5'));
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain(`${path.join(bad, 'images', 'img_0005.jpg')}: not a readable image`);
    fs.copyFileSync(path.join(images, 'images', 'img_0005.jpg'), path.join(bad, 'images', 'img_0005.jpg'));

    fs.writeFileSync(labels, [...lines.slice(0, 9), 'images/gone.jpg, 1', ...lines.slice(9)].join('\n') + '\n');
    const missing = run(flags('o2'), env('c5'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${labels}:10: image 'images/gone.jpg' not found`);

    fs.writeFileSync(labels, [...lines.slice(0, 6), lines[6].replace(/, \d+$/, ', 7'), ...lines.slice(7)].join('\n') + '\n');
    const range = run(flags('o3'), env('c5'));
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(new RegExp(`img_0006\\.jpg \\(${labels.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7\\): label 7 is out of range for bare, whose output has 4 classes`));

    fs.writeFileSync(labels, original);
    const shape = run(['measure', '--models', model, '--data', bad, '--labels', 'labels.txt', '--crop', '28', '--out', 'o4'], env('c5'));
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/bare\/model\.json: model input is 32x32x3, but the dataset gives 28x28x3 images/);
    const shard = run(['measure', '--models', model, '--shard', '4/4'], env('c5'));
    expect(shard.code).toBe(2);
    expect(shard.stderr).toMatch(/--shard: expected I\/N/);
    for (const o of ['o1', 'o2', 'o3', 'o4']) expect(fs.existsSync(path.join(work, o))).toBe(false);
  }, 300000);
});
