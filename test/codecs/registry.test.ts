import { CODECS, CODEC_KEYS, codecName, describeParam, makeCodecSpec, parseCodecName, sweepSpecs } from '../../src/codecs/registry';
import { createFeatureCodec, type FeatureCodecSpec } from '../../src/codecs/feature';

describe('codec registry', () => {
  test('every codec is one entry: key, kind, schema with defaults, sweep, cost class', () => {
    expect(CODEC_KEYS).toEqual(['raw', 'png', 'webp-lossless', 'jpeg', 'webp', 'avif', 'quant', 'float16', 'float32', 'factorized', 'hyperprior', 'tiled-jpeg', 'tiled-webp', 'fixedquant']);
    for (const e of CODECS) {
      expect(sweepSpecs(e).length).toBeGreaterThan(0);
      for (const s of sweepSpecs(e)) expect(e.costClass(s as unknown as Record<string, string | number>)).toMatch(/^[a-z0-9/-]+$/);
    }
  });

  test('names: omitted parameters take defaults, the canonical name lists them all', () => {
    const q = parseCodecName('quant[bits=4]');
    expect(q.ok && codecName(q.spec)).toBe('quant[bits=4;granularity=channel;entropy=rans]');
    const w = parseCodecName('webp[quality=55]');
    expect(w.ok && w.spec).toEqual({ codec: 'webp', quality: 55 });
    expect(codecName((parseCodecName('jpeg') as { spec: never }).spec)).toBe('jpeg[quality=75]');
    expect(codecName((parseCodecName('factorized') as { spec: never }).spec)).toBe('factorized');
    // Order and separators do not matter; the name is canonical.
    const a = parseCodecName('quant[entropy=deflate, bits=2]');
    expect(a.ok && codecName(a.spec)).toBe('quant[bits=2;granularity=channel;entropy=deflate]');
  });

  test.each([
    ['jpg[quality=5]', /unknown codec 'jpg' \(codecs: raw, png/],
    ['webp[quality=101]', /codec 'webp': parameter 'quality': Number must be less than or equal to 100 \(expected integer 1\.\.100\)/],
    ['webp[quality=55.5]', /parameter 'quality': Expected integer/],
    ['quant[bits=9]', /parameter 'bits'.*\(expected integer 1\.\.8\)/],
    ['quant[entropy=zip]', /parameter 'entropy': Invalid enum value\. Expected 'packed' \| 'deflate' \| 'brotli' \| 'rans'/],
    ['png[quality=50]', /unknown parameter\(s\) 'quality' \(png takes no parameters\)/],
    ['webp[quality]', /'quality' is not name=value/],
    ['webp[quality=5;quality=6]', /given twice/],
  ])('%s is refused with the valid choices', (text, pattern) => {
    const r = parseCodecName(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(pattern);
  });

  test('any valid setting builds a working codec', () => {
    const r = makeCodecSpec('quant', { bits: 3, granularity: 'tensor', entropy: 'brotli' });
    if (!r.ok) throw new Error(r.error);
    const c = createFeatureCodec(r.spec as FeatureCodecSpec);
    const v = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    expect(c.decode(c.encode(v, [4, 4, 4])).values).toEqual(c.reference(v, [4, 4, 4]));
  });

  test('parameter descriptions carry ranges and defaults for listings', () => {
    const jpeg = CODECS.find((e) => e.key === 'jpeg')!;
    expect(describeParam(jpeg.params.shape.quality)).toMatchObject({ type: 'integer', range: '1..100', default: '75' });
  });
});
