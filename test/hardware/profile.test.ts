import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolvePrecision } from '../../src/hardware/cost';
import { listProfiles, listRuntimes, loadProfile, PROFILES_DIR, withRuntime } from '../../src/hardware/profile';
import { UserError } from '../../src/util/errors';

const DEVICES = [
  'raspberry-pi-3b-plus', 'raspberry-pi-4', 'raspberry-pi-5', 'jetson-nano', 'jetson-tx2', 'jetson-xavier-nx',
  'agx-xavier', 'jetson-orin-nano', 'agx-orin', 'snapdragon-8-gen-2', 't4', 'a100', 'h100', 'h200', 'server-cpu', 'host',
];

function tmpProfile(edit: (text: string) => string, name = 'toy'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-profile-'));
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, edit(fs.readFileSync(path.join(PROFILES_DIR, 'jetson-nano.yaml'), 'utf8').replace('name: jetson-nano', `name: ${name}`)));
  return file;
}

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
};

describe('shipped profiles', () => {
  test('exactly the required device names exist and all validate', () => {
    expect(listProfiles().sort()).toEqual([...DEVICES].sort());
    for (const d of DEVICES) expect(loadProfile(d).name).toBe(d);
  });

  test('every number in a device profile carries a source comment', () => {
    for (const d of DEVICES.filter((x) => x !== 'host')) {
      const lines = fs.readFileSync(path.join(PROFILES_DIR, `${d}.yaml`), 'utf8').split('\n');
      for (const line of lines) {
        if (/^\s*[A-Za-z0-9]+:\s*-?[0-9.]+\s*(#.*)?$/.test(line)) expect(`${d}: ${line}`).toMatch(/#\s*\S/);
        // Flow mappings with numbers ({ conv: 0.4, ... }) need a comment too.
        if (/^\s*[A-Za-z0-9-]+:\s*\{[^}#]*\d/.test(line)) expect(`${d}: ${line}`).toMatch(/#\s*\S/);
      }
    }
  });

  test('peaks follow the datasheet arithmetic (cores x FLOP/cycle x clock)', () => {
    expect(loadProfile('jetson-nano').compute.fp32!.peakGflops).toBeCloseTo(128 * 2 * 0.9216, 1);
    expect(loadProfile('jetson-tx2').compute.fp32!.peakGflops).toBeCloseTo(256 * 2 * 1.3, 1);
    expect(loadProfile('raspberry-pi-4').compute.fp32!.peakGflops).toBeCloseTo(4 * 1.5 * 8, 6);
    expect(loadProfile('h200').compute.fp16!.peakGflops).toBe(loadProfile('h100').compute.fp16!.peakGflops);
    expect(loadProfile('h200').memory.bandwidthGBps).toBeGreaterThan(loadProfile('h100').memory.bandwidthGBps);
  });

  test('devices sharing a framework family share its efficiencies (no per-model or per-device fudge)', () => {
    const nano = loadProfile('jetson-nano').compute.fp32!.efficiency;
    expect(loadProfile('jetson-tx2').compute.fp32!.efficiency).toEqual(nano);
    const pi = loadProfile('raspberry-pi-4').compute.fp32!.efficiency;
    for (const d of ['raspberry-pi-3b-plus', 'raspberry-pi-5', 'snapdragon-8-gen-2']) expect(loadProfile(d).compute.fp32!.efficiency).toEqual(pi);
    // torch2trt on Jetson tensor-core GPUs: the family chosen on the torch2trt Xavier tables.
    const volta = loadProfile('agx-xavier').compute;
    for (const d of ['jetson-xavier-nx', 'jetson-orin-nano', 'agx-orin']) {
      expect(loadProfile(d).compute.fp32!.efficiency).toEqual(volta.fp32!.efficiency);
      expect(loadProfile(d).compute.fp16!.efficiency).toEqual(volta.fp16!.efficiency);
    }
    // The H200 fit: the same fractions of every data-centre GPU's tensor-core peaks, and the
    // same kernel model (per-SM width, launch gap, minimum kernel time) on every NVIDIA GPU.
    const h200 = loadProfile('h200');
    for (const d of ['t4', 'a100', 'h100']) {
      for (const c of ['conv', 'conv3x3', 'dense'] as const) expect(loadProfile(d).compute.fp16!.efficiency[c]).toBe(h200.compute.fp16!.efficiency[c]);
      if (d === 't4') continue; // Turing: no TF32
      for (const c of ['conv', 'conv3x3'] as const) expect(loadProfile(d).compute.tf32!.efficiency[c]).toBe(h200.compute.tf32!.efficiency[c]);
    }
    const fitted = ['conv', 'conv3x3', 'dense'] as const;
    for (const d of ['t4', 'a100', 'h100', 'h200', 'agx-xavier', 'jetson-xavier-nx', 'jetson-orin-nano', 'agx-orin']) {
      const trt = withRuntime(loadProfile(d), 'tensorrt');
      for (const p of ['fp16', 'int8'] as const) for (const c of fitted.slice(0, 2)) expect(`${d} ${p} ${c} ${trt.compute[p]!.efficiency[c]}`).toBe(`${d} ${p} ${c} ${h200.compute.fp16!.efficiency[c]}`);
    }
    for (const d of ['t4', 'a100', 'h100', 'jetson-nano', 'jetson-tx2', 'agx-xavier', 'jetson-xavier-nx', 'jetson-orin-nano', 'agx-orin']) {
      const p = loadProfile(d);
      expect(p.utilisation!.outputsPerSm).toBe(h200.utilisation!.outputsPerSm);
      expect(p.overhead.minKernelMs).toBe(h200.overhead.minKernelMs);
    }
  });

  test('every GPU profile has a utilisation model and a minimum kernel time; CPU profiles keep the roofline', () => {
    const gpus = ['jetson-nano', 'jetson-tx2', 'jetson-xavier-nx', 'agx-xavier', 'jetson-orin-nano', 'agx-orin', 't4', 'a100', 'h100', 'h200'];
    for (const d of DEVICES) {
      const p = loadProfile(d);
      if (gpus.includes(d)) {
        expect(`${d} ${p.utilisation?.sms ?? 'none'}`).toMatch(/ \d+$/);
        expect(p.overhead.minKernelMs).toBeGreaterThan(0);
      } else {
        expect(`${d} ${p.utilisation ?? 'none'}`).toBe(`${d} none`);
      }
    }
    // SM counts are the datasheets'.
    expect(['h200', 'h100', 'a100', 't4', 'agx-orin', 'agx-xavier'].map((d) => loadProfile(d).utilisation!.sms)).toEqual([132, 132, 108, 40, 16, 8]);
  });

  test('FP32 on Ampere and later runs on TF32 tensor cores where the runtime does (TensorRT; PyTorch for convs only)', () => {
    for (const d of ['a100', 'h100', 'h200', 'agx-orin', 'jetson-orin-nano']) {
      const p = loadProfile(d);
      expect(p.compute.tf32!.peakGflops).toBeGreaterThan(p.compute.fp32!.peakGflops);
      expect([...withRuntime(p, 'tensorrt').tf32Categories].sort()).toEqual(['conv', 'conv3x3', 'deconv', 'dense']);
    }
    expect([...withRuntime(loadProfile('a100'), 'pytorch-cudagraph').tf32Categories]).not.toContain('dense');
    for (const d of ['t4', 'agx-xavier', 'jetson-xavier-nx', 'jetson-nano', 'jetson-tx2']) {
      expect(`${d} ${loadProfile(d).compute.tf32 ?? 'no tf32'}`).toBe(`${d} no tf32`);
    }
  });

  test('INT8 wherever the hardware has it (AGX Xavier included); not on Maxwell/Pascal Jetsons', () => {
    for (const d of ['agx-xavier', 'jetson-xavier-nx', 'jetson-orin-nano', 'agx-orin', 't4', 'a100', 'h100', 'h200', 'server-cpu']) {
      const p = loadProfile(d);
      expect(`${d} ${p.compute.int8?.peakGflops ?? 'none'}`).toMatch(/ \d+$/);
      if (p.compute.fp16) expect(Math.abs(p.compute.int8!.peakGflops / (2 * p.compute.fp16.peakGflops) - 1)).toBeLessThan(0.03);
    }
    for (const d of ['jetson-nano', 'jetson-tx2']) {
      const m = message(() => resolvePrecision(loadProfile(d), 'int8'));
      expect(m).toContain(path.join(PROFILES_DIR, `${d}.yaml`));
      expect(m).toContain("field 'compute.int8'");
    }
  });
});

describe('runtimes', () => {
  test('the server GPUs declare tensorrt (default), pytorch-cudagraph and pytorch-eager; Jetsons torch2trt and tensorrt', () => {
    for (const d of ['t4', 'a100', 'h100', 'h200']) expect(listRuntimes(loadProfile(d))).toEqual(['tensorrt', 'pytorch-cudagraph', 'pytorch-eager']);
    for (const d of ['jetson-nano', 'agx-xavier', 'agx-orin']) expect(listRuntimes(loadProfile(d))).toEqual(['torch2trt', 'tensorrt']);
    expect(listRuntimes(loadProfile('raspberry-pi-4'))).toEqual(['default']);
  });

  test('a runtime overrides fusion, overhead, efficiencies and TF32 use, and keeps the hardware', () => {
    const h200 = loadProfile('h200');
    const eager = withRuntime(h200, 'pytorch-eager');
    expect(eager.runtimeName).toBe('pytorch-eager');
    expect(eager.fusion).toEqual({ batchNorm: false, activation: false, add: false, views: true, inlineActivation: false });
    expect(eager.overhead.dispatchMs).toBeGreaterThan(0);
    expect(eager.overhead.perLayerMs).toBe(h200.overhead.perLayerMs);
    expect(eager.precisions).toEqual(['fp32', 'fp16']);
    expect([...eager.tf32Categories].sort()).toEqual(['conv', 'conv3x3', 'deconv']);
    expect([...withRuntime(h200, 'tensorrt').tf32Categories]).toContain('dense');
    expect(withRuntime(h200).runtimeName).toBe('tensorrt');
    expect(withRuntime(h200, 'pytorch-eager')).toBe(eager);
    expect(withRuntime(eager, 'tensorrt')).toBe(withRuntime(h200));
    const xav = withRuntime(loadProfile('agx-xavier'), 'tensorrt');
    expect(xav.compute.fp16!.efficiency.conv).toBe(h200.compute.fp16!.efficiency.conv);
    expect(xav.compute.fp16!.efficiency.pooling).toBe(loadProfile('agx-xavier').compute.fp16!.efficiency.pooling);
  });

  test('an unknown runtime names the profile file and the field and lists the declared runtimes', () => {
    const m = message(() => withRuntime(loadProfile('h200'), 'onnxruntime'));
    expect(m).toContain(path.join(PROFILES_DIR, 'h200.yaml'));
    expect(m).toContain("field 'runtimes'");
    expect(m).toContain('tensorrt, pytorch-cudagraph, pytorch-eager');
    expect(message(() => withRuntime(loadProfile('raspberry-pi-4'), 'tensorrt'))).toContain("field 'runtimes'");
    // INT8 on a runtime that does not run it.
    expect(message(() => resolvePrecision(loadProfile('h200'), 'int8', 'pytorch-eager'))).toContain("field 'runtimes.pytorch-eager.precisions'");
  });
});

describe('bad runtime fields are rejected with the file and the field', () => {
  /** jetson-nano.yaml without its runtimes, plus `extra` before power:. */
  const withRuntimes = (extra: string) => (t: string) =>
    t.replace(/^runtime: .*\n/m, '').replace(/\nruntimes:\n[\s\S]*?\npower:/, `\n${extra}\npower:`).replace(/\nutilisation:\n(  .*\n)+/, extra.startsWith('utilisation') ? '\n' : '$&');

  test('a default runtime the profile does not declare', () => {
    const file = tmpProfile(withRuntimes('runtime: fast\nruntimes:\n  torch2trt: {}\n  tensorrt: {}'));
    const m = message(() => loadProfile(file));
    expect(m).toContain(file);
    expect(m).toContain("field 'runtime'");
    expect(m).toContain("'fast' is not a declared runtime (runtimes: torch2trt, tensorrt)");
  });

  test('a negative minimum kernel time in a runtime (the top level: see "negative field")', () => {
    const m = message(() => loadProfile(tmpProfile(withRuntimes('runtime: a\nruntimes:\n  a:\n    overhead: { minKernelMs: -1 }')));
    expect(m).toContain("field 'runtimes.a.overhead.minKernelMs'");
    expect(m).toMatch(/non-negative/);
  });

  test('a runtime that lists a precision or TF32 the hardware lacks; a fractional SM count', () => {
    let file = tmpProfile(withRuntimes('runtime: a\nruntimes:\n  a: { precisions: [fp16, int8] }'));
    expect(message(() => loadProfile(file))).toContain("field 'runtimes.a.precisions': lists int8, but the hardware has no int8");
    file = tmpProfile(withRuntimes('runtime: a\nruntimes:\n  a: { tf32: [conv] }'));
    expect(message(() => loadProfile(file))).toContain("field 'runtimes.a.tf32'");
    file = tmpProfile(withRuntimes('utilisation: { sms: 1.5, outputsPerSm: 100 }'));
    expect(message(() => loadProfile(file))).toContain("field 'utilisation.sms'");
  });
});

describe('bad profiles are rejected with the file and the field', () => {
  test('unknown device lists the valid names', () => {
    const m = message(() => loadProfile('jetson-nanoo'));
    expect(m).toContain("unknown device 'jetson-nanoo'");
    for (const d of DEVICES) expect(m).toContain(d);
  });

  test('missing field', () => {
    const file = tmpProfile((t) => t.replace(/^\s*bandwidthGBps:.*$/m, ''));
    const m = message(() => loadProfile(file));
    expect(m).toContain(file);
    expect(m).toContain("field 'memory.bandwidthGBps'");
  });

  test('negative field', () => {
    const file = tmpProfile((t) => t.replace(/perLayerMs: [0-9.]+/, 'perLayerMs: -0.5'));
    const m = message(() => loadProfile(file));
    expect(m).toContain(file);
    expect(m).toContain("field 'overhead.perLayerMs'");
    expect(m).toMatch(/non-negative/);
    const neg = tmpProfile((t) => t.replace(/minKernelMs: [0-9.]+/, 'minKernelMs: -0.001'));
    expect(message(() => loadProfile(neg))).toContain(`${neg}: field 'overhead.minKernelMs': must be a non-negative number`);
    const file2 = tmpProfile((t) => t.replace(/peakGflops: 235.9/, 'peakGflops: -1'));
    expect(message(() => loadProfile(file2))).toContain("field 'compute.fp32.peakGflops'");
  });

  test('misspelled field, missing efficiency category, name not matching the file', () => {
    expect(message(() => loadProfile(tmpProfile((t) => t.replace('idleW:', 'idleWatts:'))))).toMatch(/unknown field\(s\) 'idleWatts'/);
    expect(message(() => loadProfile(tmpProfile((t) => t.replace(/^\s*pooling: 0.1.*$/m, ''))))).toContain("field 'compute.fp32.efficiency.pooling'");
    const wrong = tmpProfile((t) => t, 'other');
    fs.writeFileSync(wrong, fs.readFileSync(wrong, 'utf8').replace('name: other', 'name: someone-else'));
    expect(message(() => loadProfile(wrong))).toContain("field 'name'");
  });
});
