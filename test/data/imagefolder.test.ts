import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { openDataset } from '../../src/data/dataset';
import { captureImage, hashImageFolder, indexImageFolder, resizedSize, verifyImages } from '../../src/data/imagefolder';
import { toNormalizedInput } from '../../src/data/preprocess';
import { datasetFromFolder, datasetFromScenario, DATASET_SIDECAR, readDatasetFile, resolveImageFolder } from '../../src/data/spec';
import { initBackend } from '../../src/model/backend';
import { UserError } from '../../src/util/errors';
import { patternImage, writeLabelledFolder } from './helpers';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-imagefolder-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const flat = path.join(work, 'flat');
const tree = path.join(work, 'tree');

beforeAll(async () => {
  await writeLabelledFolder(flat, 3, 4);
  // Class subfolders, one of them with a non-image file that must be ignored.
  for (const [k, name] of ['cat', 'ant', 'bee'].entries()) {
    fs.mkdirSync(path.join(tree, name), { recursive: true });
    for (let i = 0; i < 2; i++) fs.writeFileSync(path.join(tree, name, `${i}.jpg`), await patternImage(k, i, 50, 40));
  }
  fs.writeFileSync(path.join(tree, 'bee', 'notes.txt'), 'not an image');
});

const spec = (fields: Record<string, unknown>, root = flat) => resolveImageFolder({ crop: 32, ...fields }, root, 'test');

function expectUserError(f: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(pattern);
}

describe('listing', () => {
  test('a labels file: its order, labels, offset; names resolve against the folder', () => {
    const ix = indexImageFolder(spec({ labels: 'labels.txt' }));
    expect(ix.entries.length).toBe(12);
    expect(ix.entries.slice(0, 4).map((e) => [e.rel, e.label])).toEqual([['images/img_0000.jpg', 0], ['images/img_0001.jpg', 1], ['images/img_0002.jpg', 2], ['images/img_0003.png', 0]]);
    expect(ix.entries[5].where).toBe(`${path.join(flat, 'labels.txt')}:6`);
    const shifted = indexImageFolder(spec({ labels: 'labels.txt', labelOffset: 5 }));
    expect(shifted.entries.map((e) => e.label)).toEqual(ix.entries.map((e) => e.label + 5));
  });

  test('class subfolders: sorted names are the labels, or a classes file gives the order; other files are ignored', () => {
    const ix = indexImageFolder(spec({}, tree));
    expect(ix.classNames).toEqual(['ant', 'bee', 'cat']);
    expect(ix.entries.map((e) => [e.rel, e.label])).toEqual([
      ['ant/0.jpg', 0], ['ant/1.jpg', 0], ['bee/0.jpg', 1], ['bee/1.jpg', 1], ['cat/0.jpg', 2], ['cat/1.jpg', 2],
    ]);
    fs.writeFileSync(path.join(work, 'classes.txt'), 'cat, a feline\nbee\nant\n');
    const ordered = indexImageFolder(resolveImageFolder({ crop: 32, classes: path.join(work, 'classes.txt') }, tree, 'test'));
    expect(ordered.entries.map((e) => [e.rel, e.label])).toEqual([
      ['cat/0.jpg', 0], ['cat/1.jpg', 0], ['bee/0.jpg', 1], ['bee/1.jpg', 1], ['ant/0.jpg', 2], ['ant/1.jpg', 2],
    ]);
  });

  test('named labels take the classes file order (first word of each line)', () => {
    const dir = path.join(work, 'named');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(flat, 'images', 'img_0000.jpg'), path.join(dir, 'a.jpg'));
    fs.copyFileSync(path.join(flat, 'images', 'img_0001.jpg'), path.join(dir, 'b.jpg'));
    fs.writeFileSync(path.join(dir, 'labels.txt'), 'a.jpg n02\nb.jpg n01\n');
    fs.writeFileSync(path.join(dir, 'synsets.txt'), 'n01 first class, more words\nn02 second\n');
    const ix = indexImageFolder(resolveImageFolder({ crop: 32, labels: 'labels.txt', classes: 'synsets.txt' }, dir, 'test'));
    expect(ix.entries.map((e) => e.label)).toEqual([1, 0]);
    expect(indexImageFolder(resolveImageFolder({ crop: 32, labels: 'labels.txt' }, dir, 'test')).entries.map((e) => e.label)).toEqual([1, 0]);
  });

  test('bad listings name the file and line', () => {
    const dir = path.join(work, 'bad');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(flat, 'images', 'img_0000.jpg'), path.join(dir, 'a.jpg'));
    const labels = path.join(dir, 'labels.txt');
    const s = () => resolveImageFolder({ crop: 32, labels: 'labels.txt' }, dir, 'test');
    fs.writeFileSync(labels, 'a.jpg 0\n\n# comment\nmissing.jpg 1\n');
    expectUserError(() => indexImageFolder(s()), new RegExp(`${labels.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: image 'missing.jpg' not found`));
    fs.writeFileSync(labels, 'a.jpg\n');
    expectUserError(() => indexImageFolder(s()), /labels\.txt:1: expected 'filename label'/);
    fs.writeFileSync(labels, 'a.jpg 0\na.jpg 1\n');
    expectUserError(() => indexImageFolder(s()), /labels\.txt:2: image 'a\.jpg' already listed at .*labels\.txt:1/);
    fs.writeFileSync(labels, 'a.jpg 0\n');
    expectUserError(() => indexImageFolder(resolveImageFolder({ crop: 32, labels: 'labels.txt', labelOffset: -1 }, dir, 'test')), /labels\.txt:1: label 0 with labelOffset -1 is -1, below 0/);
    fs.writeFileSync(path.join(dir, 'two.txt'), 'x\ny\n');
    fs.writeFileSync(labels, 'a.jpg 2\n');
    expectUserError(() => indexImageFolder(resolveImageFolder({ crop: 32, labels: 'labels.txt', classes: 'two.txt' }, dir, 'test')), /labels\.txt:1: label 2 is out of range: .*two\.txt lists 2 classes/);
    expectUserError(() => resolveImageFolder({ crop: 32, labels: 'nope.txt' }, dir, 'test'), /test: field 'labels': .*nope\.txt not found/);
    expectUserError(() => resolveImageFolder({ crop: 64, resize: 40 }, dir, 'test'), /field 'resize': 40 is smaller than the crop 64x64/);
    expectUserError(() => resolveImageFolder({ crop: 32, scale: { mean: [0.1, 0.2], std: [1] } }, dir, 'test'), /scale\.mean': 2 values for 3 channel/);
    expectUserError(() => resolveImageFolder({ crop: 32, colour: 'x' }, dir, 'test'), /Unrecognized key/);
  });

  test('an unreadable image is named by the header check', async () => {
    const dir = path.join(work, 'broken');
    fs.mkdirSync(path.join(dir, 'k'), { recursive: true });
    fs.copyFileSync(path.join(flat, 'images', 'img_0000.jpg'), path.join(dir, 'k', 'good.jpg'));
    fs.writeFileSync(path.join(dir, 'k', 'bad.jpg'), Buffer.from('definitely not a JPEG'));
    const ix = indexImageFolder(resolveImageFolder({ crop: 32 }, dir, 'test'));
    await expect(verifyImages(ix)).rejects.toThrow(new RegExp(`${path.join(dir, 'k', 'bad.jpg').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a readable image`));
    // A JPEG cut in the middle passes the header check but not the decode, which names it too.
    const full = fs.readFileSync(path.join(flat, 'images', 'img_0000.jpg'));
    fs.writeFileSync(path.join(dir, 'k', 'bad.jpg'), full.subarray(0, Math.floor(full.length / 2)));
    await expect(captureImage(path.join(dir, 'k', 'bad.jpg'), ix.spec)).rejects.toThrow(/bad\.jpg: cannot decode and preprocess the image/);
  });
});

describe('declarations', () => {
  test('a sidecar, a declaration file and an inline scenario block resolve paths against their own folder', () => {
    fs.writeFileSync(path.join(flat, DATASET_SIDECAR), 'labels: labels.txt\ncrop: 32\nresize: 36\nscale: "[-1,1]"\n');
    const a = datasetFromFolder(flat);
    expect(a).toMatchObject({ kind: 'image-folder', root: flat, labels: path.join(flat, 'labels.txt'), crop: [32, 32], resize: 36, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const decl = path.join(work, 'decl.yaml');
    fs.writeFileSync(decl, 'path: flat\nlabels: labels.txt\ncrop: [32, 30]\nchannels: bgr\nscale: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n');
    expect(readDatasetFile(decl)).toMatchObject({ root: flat, crop: [32, 30], resize: 32, channels: 'bgr', mean: [0.485, 0.456, 0.406] });
    const scenario = path.join(work, 'sc.yaml');
    expect(datasetFromScenario({ path: 'flat', labels: 'labels.txt', crop: 32 }, scenario)).toMatchObject({ root: flat });
    expect(datasetFromScenario('flat', scenario)).toMatchObject({ root: flat, resize: 36 });
    expect(datasetFromScenario('decl.yaml', scenario)).toMatchObject({ crop: [32, 30] });
    expect(datasetFromScenario('fashion-mnist', scenario)).toMatchObject({ kind: 'fashion-mnist' });
    expectUserError(() => datasetFromScenario('tree', scenario), new RegExp(`sc\\.yaml: field 'dataset': .*tree: neither Fashion-MNIST .* nor an image folder with ${DATASET_SIDECAR}`));
    expectUserError(() => datasetFromScenario({ path: 'flat', crop: 0 }, scenario), /sc\.yaml: field 'dataset\.crop'/);
    fs.rmSync(path.join(flat, DATASET_SIDECAR));
  });
});

describe('preprocessing', () => {
  test('resize keeps the aspect ratio with the shorter side at the target', () => {
    expect(resizedSize(227, 227, 256)).toEqual({ width: 256, height: 256 });
    expect(resizedSize(500, 375, 256)).toEqual({ width: 341, height: 256 });
    expect(resizedSize(375, 500, 256)).toEqual({ width: 256, height: 341 });
  });

  test('capture = sharp resize of the shorter side then the centre crop, in RGB or gray', async () => {
    const file = path.join(flat, 'images', 'img_0000.jpg'); // 40x36
    const s = spec({ resize: 40 });
    const px = await captureImage(file, s);
    expect(px.length).toBe(32 * 32 * 3);
    const r = resizedSize(40, 36, 40); // 44x40
    const want = await sharp(file).removeAlpha().toColourspace('srgb').resize(r.width, r.height, { kernel: 'lanczos3', fit: 'fill' })
      .extract({ left: 6, top: 4, width: 32, height: 32 }).raw().toBuffer();
    expect(Buffer.from(px).equals(want)).toBe(true);
    const gray = await captureImage(file, spec({ channels: 'gray' }));
    expect(gray.length).toBe(32 * 32);
  });

  test('normalisation: per channel (p/255 - mean)/std, BGR swaps channels', async () => {
    await initBackend();
    const px = Uint8Array.from([0, 128, 255, 10, 20, 30]); // 1x2 RGB
    const n = { order: 'bgr' as const, mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    const v = toNormalizedInput(px, 1, [1, 2, 3], n).dataSync();
    expect(Array.from(v)).toEqual(Array.from(Float32Array.from([
      (255 / 255 - 0.1) / 0.5, (128 / 255 - 0.2) / 0.25, (0 / 255 - 0.3) / 2,
      (30 / 255 - 0.1) / 0.5, (20 / 255 - 0.2) / 0.25, (10 / 255 - 0.3) / 2,
    ])));
  });

  test('a dataset decodes the batch asked for; its hash covers images, labels and preprocessing', async () => {
    const s = spec({ labels: 'labels.txt' });
    const d = await openDataset(s, { verify: true });
    expect([d.n, d.rows, d.cols, d.channels]).toEqual([12, 32, 32, 3]);
    expect(Array.from(d.labels)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const both = await d.pixels([3, 7]);
    const one = await captureImage(path.join(flat, 'images', 'img_0007.jpg'), s);
    expect(Buffer.from(both.subarray(32 * 32 * 3)).equals(Buffer.from(one))).toBe(true);
    expect(d.where(4)).toBe(`${path.join(flat, 'images', 'img_0004.jpg')} (${path.join(flat, 'labels.txt')}:5)`);
    const h = d.hash();
    expect(hashImageFolder(indexImageFolder(spec({ labels: 'labels.txt', resize: 33 })))).not.toBe(h);
    expect(hashImageFolder(indexImageFolder(spec({ labels: 'labels.txt', labelOffset: 1 })))).not.toBe(h);
    const f = path.join(flat, 'images', 'img_0011.jpg');
    const orig = fs.readFileSync(f);
    fs.writeFileSync(f, await patternImage(2, 99, 40, 40));
    try {
      expect(hashImageFolder(indexImageFolder(s))).not.toBe(h);
    } finally {
      fs.writeFileSync(f, orig);
    }
    expect(hashImageFolder(indexImageFolder(s))).toBe(h);
  });
});
