import sharp from 'sharp';
import { decodeImage, encodeImage, type ImageCodecSpec } from '../src/codecs/image';
import { isInputCodec } from '../src/codecs/registry';
import { DEFAULT_ZOO_DIR, readZooIndex } from '../src/measure/measure';
import { candidates, modelInfo } from '../src/pipelines/candidates';
import { formatTable } from '../src/report/table';

/**
 * `npm run bench -- sharp [--calls N] [--samples N]`: what one sharp call costs here, in CPU time
 * of the whole process (sharp works on libuv's thread pool), 64 calls in flight as measurement
 * issues them. The peer is a sharp call that does nothing (raw pixels in, the same raw pixels
 * out); every codec row is splitsim's own encodeImage/decodeImage, printed as a ratio to it.
 * The last lines project the floor that per-call cost puts under a zoo measurement: every
 * sharp-coded candidate pipeline of the zoo x samples x (encode + decode).
 */

const IN_FLIGHT = 64;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms and wall ms per call of `call`, over n calls, IN_FLIGHT at a time. */
async function perCall(n: number, call: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  for (let i = 0; i < IN_FLIGHT; i++) await call();
  const c0 = cpuMs();
  const w0 = performance.now();
  for (let done = 0; done < n; done += IN_FLIGHT) await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n - done) }, call));
  return { cpu: (cpuMs() - c0) / n, wall: (performance.now() - w0) / n };
}

/** A gray test image with some structure (codecs behave differently on constant images). */
function pixels(w: number, h: number): Uint8Array {
  const p = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p[y * w + x] = (100 + 60 * Math.sin(0.37 * (y * w + x)) + 2 * x) & 255;
  return p;
}

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${name}: expected a positive integer, got ${args[i + 1]}`);
  return v;
}

export async function main(args: string[]): Promise<void> {
  const calls = flag(args, '--calls', 2000);
  const samples = flag(args, '--samples', 10000);
  const sizes: Array<[string, number]> = [['28x28 (an input image)', 28], ['84x84 (teacher stage2 tiled)', 84], ['112x112 (teacher stem tiled)', 112]];
  const specs: ImageCodecSpec[] = [
    { codec: 'jpeg', quality: 50 },
    { codec: 'webp', quality: 50 },
    { codec: 'png' },
  ];
  const rows: string[][] = [];
  let noop28 = NaN;
  for (const [label, s] of sizes) {
    const px = pixels(s, s);
    const noop = await perCall(calls, () => sharp(px, { raw: { width: s, height: s, channels: 1 } }).raw().toBuffer());
    if (s === 28) noop28 = noop.cpu;
    rows.push([label, 'no-op (raw in, raw out)', noop.cpu.toFixed(3), noop.wall.toFixed(3), '1.00']);
    for (const spec of specs) {
      const bytes = await encodeImage(px, s, s, spec);
      const enc = await perCall(calls, () => encodeImage(px, s, s, spec));
      const dec = await perCall(calls, () => decodeImage(bytes, s, s, spec));
      const name = spec.codec + ('quality' in spec ? ` q${spec.quality}` : '');
      rows.push([label, `${name} encode`, enc.cpu.toFixed(3), enc.wall.toFixed(3), (enc.cpu / noop.cpu).toFixed(2)]);
      rows.push([label, `${name} decode`, dec.cpu.toFixed(3), dec.wall.toFixed(3), (dec.cpu / noop.cpu).toFixed(2)]);
    }
  }
  process.stdout.write(`sharp ${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips}), ${calls} calls per row, ${IN_FLIGHT} in flight\n`);
  process.stdout.write(formatTable(['image', 'call', 'CPU ms/call', 'wall ms/call', 'CPU vs no-op'], rows, [0, 1]) + '\n');
  // The zoo's sharp-coded candidates: input codecs but raw, and the tiled feature codecs.
  const refs = readZooIndex(DEFAULT_ZOO_DIR).flatMap((e) => candidates(modelInfo(e)));
  const viaSharp = refs.filter((r) => r.codec && ((isInputCodec(r.codec) && r.codec.codec !== 'raw') || r.codec.codec === 'tiled-jpeg' || r.codec.codec === 'tiled-webp'));
  const floorS = (viaSharp.length * samples * 2 * noop28) / 1000;
  process.stdout.write(`zoo: ${refs.length} candidate pipelines, ${viaSharp.length} coded through sharp; at the no-op's ${noop28.toFixed(3)} CPU ms per call, `
    + `encode + decode of ${samples} samples each cost at least ${floorS.toFixed(0)} CPU-s in sharp calls alone\n`);
}
