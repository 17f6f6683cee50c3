import { decodeImage, encodeImage, isLossless, type ImageCodecSpec } from '../../src/codecs/image';
import { CODECS, sweepSpecs } from '../../src/codecs/registry';

const inputCodecSpecs = () => CODECS.filter((e) => e.kind === 'input').flatMap((e) => sweepSpecs(e) as ImageCodecSpec[]);

/** A synthetic 28x28 "garment": a bright blob on black with some texture. */
function image(): Uint8Array {
  const px = new Uint8Array(784);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const r = Math.hypot(x - 14, (y - 14) * 1.3);
      px[y * 28 + x] = r < 10 ? Math.min(255, 120 + ((x * 7 + y * 13) % 60) + (r < 5 ? 60 : 0)) : 0;
    }
  }
  return px;
}

describe('input codecs (sharp)', () => {
  const px = image();

  test('every configuration decodes to 28x28 one-channel pixels; lossless ones exactly', async () => {
    for (const spec of inputCodecSpecs()) {
      const bytes = await encodeImage(px, 28, 28, spec);
      const back = await decodeImage(bytes, 28, 28, spec);
      expect(back.length).toBe(784);
      let mad = 0;
      for (let i = 0; i < 784; i++) mad += Math.abs(back[i] - px[i]);
      mad /= 784;
      if (isLossless(spec.codec)) expect(mad).toBe(0);
      else expect(mad).toBeLessThan(40);
    }
  });

  test('container formats: JPEG and PNG are single-channel files; raw is the pixels', async () => {
    const jpg = await encodeImage(px, 28, 28, { codec: 'jpeg', quality: 90 });
    expect([jpg[0], jpg[1]]).toEqual([0xff, 0xd8]);
    // SOF marker component count: a grayscale JPEG has one component.
    let i = 2;
    while (!(jpg[i] === 0xff && (jpg[i + 1] === 0xc0 || jpg[i + 1] === 0xc2))) i++;
    expect(jpg[i + 9]).toBe(1);
    const png = await encodeImage(px, 28, 28, { codec: 'png' });
    expect(png[25]).toBe(0); // IHDR colour type 0 = grayscale
    expect(await encodeImage(px, 28, 28, { codec: 'raw' })).toEqual(px);
  });

  test('higher JPEG quality costs more bytes and reconstructs better', async () => {
    const lo = await encodeImage(px, 28, 28, { codec: 'jpeg', quality: 10 });
    const hi = await encodeImage(px, 28, 28, { codec: 'jpeg', quality: 95 });
    expect(hi.length).toBeGreaterThan(lo.length);
    const err = async (b: Uint8Array): Promise<number> => {
      const d = await decodeImage(b, 28, 28, { codec: 'jpeg', quality: 1 });
      return d.reduce((s, v, k) => s + Math.abs(v - px[k]), 0);
    };
    expect(await err(hi)).toBeLessThan(await err(lo));
  });

  test('rejects bad qualities', async () => {
    await expect(encodeImage(px, 28, 28, { codec: 'jpeg', quality: 0 })).rejects.toThrow(/quality/);
    await expect(encodeImage(px, 28, 28, { codec: 'png', quality: 50 })).rejects.toThrow(/no quality/);
  });
});
