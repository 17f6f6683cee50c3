import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { declaredPipelineSchema, loadScenario, SCENARIOS_DIR } from '../../src/config/scenario';
import { UserError } from '../../src/util/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-scenario-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const VALID = `
seed: 3
duration: { requests: 100 }
devices:
  count: 2
  arrival: { type: poisson, ratePerS: 5 }
uplink: { type: constant, rateBps: 1000000, delayMs: 20 }
downlink: { type: constant, rateBps: 5000000, delayMs: 20 }
pipelines:
  - name: a
    deviceMs: 5
    payloadBytes: [1000, 2000]
    edgeMs: { type: exponential, mean: 3 }
    resultBytes: 10
`;

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

/** The UserError message a load fails with. */
function failure(file: string): string {
  try {
    loadScenario(file);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error(`${file} loaded without error`);
}

describe('loadScenario', () => {
  test('a bare name resolves against scenarios/, with or without .yaml', () => {
    const a = loadScenario('lte.yaml');
    const b = loadScenario('lte');
    expect(a.file).toBe(path.join(SCENARIOS_DIR, 'lte.yaml'));
    expect(b.file).toBe(a.file);
    expect(a.scenario.name).toBe('lte');
    expect(a.scenario.model).toBe('teacher');
    expect(a.scenario.devices.profile).toBe('raspberry-pi-4');
    expect(a.scenario.edge).toMatchObject({ profile: 't4', workers: 1, maxBatch: 8, maxWaitMs: 0 });
    expect(a.scenario.pipelines).toContain('teacher/device-only');
  });

  test('a path is taken as given; defaults are filled and specs normalised', () => {
    const f = write('my-net.yaml', VALID);
    const { scenario, file } = loadScenario(f);
    expect(file).toBe(f);
    expect(scenario.name).toBe('my-net');
    expect(scenario.edge.workers).toBe(1);
    expect(scenario.warmup).toEqual({ requests: 0 });
    expect(scenario.drain).toBe(true);
    const p = scenario.pipelines === 'all' ? undefined : declaredPipelineSchema.parse(scenario.pipelines[0]);
    expect(p!.source).toBe('declared');
    expect(p).toMatchObject({
      deviceMs: { type: 'deterministic', value: 5 },
      payloadBytes: { type: 'empirical', samples: [1000, 2000] },
      local: false,
    });
    // A relative path from the working directory works too.
    const rel = path.relative(process.cwd(), f);
    expect(loadScenario(rel).scenario.name).toBe('my-net');
  });

  test.each([
    ['a missing file', null, /nope\.yaml: scenario not found/],
    ['a negative rate', VALID.replace('ratePerS: 5', 'ratePerS: -5'), /field 'devices\.arrival\.ratePerS': must be at least 1e-7/],
    ['a negative link rate', VALID.replace('rateBps: 1000000', 'rateBps: -1'), /field 'uplink\.rateBps'/],
    ['a misspelled field', VALID.replace('deviceMs: 5', 'deviceMS: 5'), /field 'pipelines\[0\]': unknown field\(s\) 'deviceMS' \(misspelled\?\)/],
    ['a misspelled top-level field', VALID + 'deadlinMs: 5\n', /unknown field\(s\) 'deadlinMs'/],
    ['not YAML', 'seed: [1, 2\nduration: {', /not valid YAML/],
    ['YAML that is not a mapping', '- 1\n- 2\n', /expected a YAML mapping/],
    ['a negative compute time', VALID.replace('deviceMs: 5', 'deviceMs: -5'), /field 'pipelines\[0\]\.deviceMs': must be >= 0/],
    ['jitter longer than the frame period', VALID.replace('{ type: poisson, ratePerS: 5 }', '{ type: periodic, fps: 10, jitterMs: 100 }'), /field 'devices\.arrival\.jitterMs': must be below the frame period/],
    ['both requests and seconds', VALID.replace('{ requests: 100 }', '{ requests: 100, seconds: 3 }'), /field 'duration': give exactly one/],
    ['an offloading pipeline without edgeMs', VALID.replace(/\n {4}edgeMs:.*\n/, '\n'), /field 'pipelines\[0\]\.edgeMs': Required \(or set local: true\)/],
    ['a local pipeline with a payload', VALID.replace('deviceMs: 5', 'deviceMs: 5\n    local: true'), /field 'pipelines\[0\]\.payloadBytes': not allowed when local/],
    ['the retired measured form', VALID + '  - { name: m, source: measured, pipeline: teacher/stage2/float32 }\n', /field 'pipelines\[1\]': 'source: measured' entries are gone: name the pipeline as 'model\/split\/codec\[params\]'/],
    ['a batch of 0', VALID + 'edge: { maxBatch: 0 }\n', /field 'edge\.maxBatch': Number must be greater than 0/],
    ['an unknown radio', VALID.replace("arrival: { type: poisson, ratePerS: 5 }", "arrival: { type: poisson, ratePerS: 5 }\n  radio: 6g"), /field 'devices\.radio'/],
    ['an unknown arrival type', VALID.replace('type: poisson', 'type: bursty'), /field 'devices\.arrival\.type'/],
    ['an unknown distribution', VALID.replace('type: exponential', 'type: gamma'), /field 'pipelines\[0\]\.edgeMs\.type'/],
  ])('%s is a UserError naming the file and the field', (_what, text, pattern) => {
    const f = text === null ? path.join(tmp, 'nope.yaml') : write(`bad-${Math.random().toString(36).slice(2)}.yaml`, text);
    const msg = failure(f);
    expect(msg).toContain(f);
    expect(msg).toMatch(pattern as RegExp);
  });

  test('a file name that cannot name a results folder needs an explicit name', () => {
    const f = write('my net.yaml', VALID);
    expect(failure(f)).toMatch(/field 'name'/);
    expect(loadScenario(write('my net2.yaml', VALID + 'name: ok\n')).scenario.name).toBe('ok');
  });
});
