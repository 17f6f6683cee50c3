import { createFeatureCodec, decodeFeature, encodeFeature } from '../../src/codecs/feature';
import { decodeImage } from '../../src/codecs/image';
import { codecName, parseCodecName } from '../../src/codecs/registry';
import { tileLayout } from '../../src/codecs/tiled';

/** A smooth, ReLU-like activation [H, W, C] (NHWC), seeded. */
function activation(h: number, w: number, c: number, seed = 1): Float32Array {
  const v = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    v[(y * w + x) * c + k] = Math.max(0, Math.sin((x + seed) / 3 + k) * Math.cos((y - k) / 4) * (1 + k / c) * 2.5);
  }
  return v;
}

describe('codec feature compression (tiled JPEG / WebP)', () => {
  test('tile layout: ceil(sqrt C) tiles a row; a pooled vector is C tiles of 1x1', () => {
    expect(tileLayout([14, 14, 32])).toEqual({ c: 32, h: 14, w: 14, cols: 6, rows: 6, width: 84, height: 84 });
    expect(tileLayout([7, 7, 64])).toMatchObject({ cols: 8, rows: 8, width: 56, height: 56 });
    expect(tileLayout([64])).toMatchObject({ c: 64, h: 1, w: 1, width: 8, height: 8 });
    expect(() => tileLayout([2, 2, 2, 2])).toThrow(/cannot tile/);
  });

  test.each(['tiled-jpeg', 'tiled-webp'])('%s: the payload is the 8-byte range and one gray image of the tiles; error shrinks with quality', async (key) => {
    const v = activation(14, 14, 32);
    const errs: number[] = [];
    const sizes: number[] = [];
    let lo = Infinity, hi = -Infinity;
    for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    for (const quality of [10, 50, 90]) {
      const spec = parseCodecName(`${key}[quality=${quality}]`);
      if (!spec.ok) throw new Error(spec.error);
      expect(codecName(spec.spec)).toBe(`${key}[quality=${quality}]`);
      const codec = createFeatureCodec(spec.spec as never);
      expect(() => codec.encode(v, [14, 14, 32])).toThrow(/asynchronously/);
      const bytes = await encodeFeature(codec, v, [14, 14, 32]);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect([view.getFloat32(0, true), view.getFloat32(4, true)]).toEqual([Math.fround(lo), Math.fround(hi)]);
      const px = await decodeImage(bytes.subarray(8), 84, 84, { codec: key === 'tiled-jpeg' ? 'jpeg' : 'webp', quality }, 1);
      expect(px.length).toBe(84 * 84);
      const d = await decodeFeature(codec, bytes);
      expect(d.shape).toEqual([14, 14, 32]);
      let err = 0;
      for (let i = 0; i < v.length; i++) err += Math.abs(d.values[i] - v[i]);
      errs.push(err / v.length);
      sizes.push(bytes.length);
    }
    console.log(`${key} on a 14x14x32 activation: bytes ${sizes.join(' / ')}, mean |error| ${errs.map((e) => e.toFixed(3)).join(' / ')} at q10/50/90`);
    expect(sizes[0]).toBeLessThan(sizes[2]);
    expect(errs[2]).toBeLessThan(errs[0]);
    // at quality 90 the tensor comes back within a few 8-bit steps of its range, on average
    expect(errs[2]).toBeLessThanOrEqual(((hi - lo) / 255) * 4);
  });

  test('a receiver that only knows the split shape decodes what the sender coded; a constant tensor survives', async () => {
    const spec = parseCodecName('tiled-jpeg[quality=70]');
    if (!spec.ok) throw new Error(spec.error);
    const sender = createFeatureCodec(spec.spec as never);
    const receiver = createFeatureCodec(spec.spec as never);
    const v = activation(7, 7, 64, 3);
    const bytes = await encodeFeature(sender, v, [7, 7, 64]);
    await expect(decodeFeature(receiver, bytes)).rejects.toThrow(/shape is known from the model/);
    receiver.setShape!([7, 7, 64]);
    const a = await decodeFeature(receiver, bytes);
    const b = await decodeFeature(sender, bytes);
    expect(Buffer.from(a.values.buffer).equals(Buffer.from(b.values.buffer))).toBe(true);
    const flat = new Float32Array(64).fill(1.25);
    const d = await decodeFeature(sender, await encodeFeature(sender, flat, [64]));
    expect([...d.values]).toEqual([...flat]);
  });
});
