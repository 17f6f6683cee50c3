import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listProfiles, loadProfile, PROFILES_DIR } from '../../src/hardware/profile';
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
    const volta = loadProfile('agx-xavier').compute;
    for (const d of ['jetson-xavier-nx', 'jetson-orin-nano', 'agx-orin', 't4', 'a100', 'h100', 'h200']) {
      expect(loadProfile(d).compute.fp32!.efficiency).toEqual(volta.fp32!.efficiency);
      expect(loadProfile(d).compute.fp16!.efficiency).toEqual(volta.fp16!.efficiency);
    }
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
