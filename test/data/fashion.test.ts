import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadFashionMnistTest, readIdx, toModelInput } from '../../src/data/fashion';
import { initBackend } from '../../src/model/backend';
import { UserError } from '../../src/util/errors';

describe('Fashion-MNIST test set reader', () => {
  const set = loadFashionMnistTest();

  test('reads 10,000 28x28 images with 1,000 of each class', () => {
    expect(set.n).toBe(10000);
    expect([set.rows, set.cols]).toEqual([28, 28]);
    expect(set.images.length).toBe(10000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of set.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    // The published test set starts with an ankle boot, a pullover and two trousers.
    expect(Array.from(set.labels.slice(0, 4))).toEqual([9, 2, 1, 1]);
  });

  test('toModelInput normalises (p/255 - mean)/std into NHWC', async () => {
    await initBackend();
    const spec = { shape: [28, 28, 1], mean: 0.25, std: 0.5 };
    const x = toModelInput(set, [3, 0], spec);
    expect(x.shape).toEqual([2, 28, 28, 1]);
    const v = x.dataSync();
    for (const j of [0, 100, 400, 783]) {
      expect(v[j]).toBeCloseTo((set.images[3 * 784 + j] / 255 - 0.25) / 0.5, 6);
      expect(v[784 + j]).toBeCloseTo((set.images[j] / 255 - 0.25) / 0.5, 6);
    }
    x.dispose();
  });

  test('corrupt, truncated or foreign files are user errors naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-idx-'));
    const gz = path.join(dir, 'bad.gz');
    fs.writeFileSync(gz, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not gzip at all')]));
    expect(() => readIdx(gz)).toThrow(UserError);
    expect(() => readIdx(gz)).toThrow(/bad\.gz: corrupt gzip/);
    const magic = path.join(dir, 'magic.idx');
    fs.writeFileSync(magic, Buffer.from([1, 2, 3, 4, 0, 0, 0, 0]));
    expect(() => readIdx(magic)).toThrow(/magic\.idx: not an IDX file/);
    const short = path.join(dir, 'short.idx.gz');
    const header = Buffer.from([0, 0, 8, 1, 0, 0, 0, 10]);
    fs.writeFileSync(short, zlib.gzipSync(Buffer.concat([header, Buffer.alloc(7)])));
    expect(() => readIdx(short)).toThrow(/short\.idx\.gz: IDX header promises 10 bytes of data, file holds 7/);
    expect(() => loadFashionMnistTest(dir)).toThrow(/t10k-images-idx3-ubyte\.gz: cannot read IDX file/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
