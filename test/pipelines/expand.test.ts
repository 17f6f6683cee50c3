import { parseScenario } from '../../src/config/scenario';
import { expandPipelines } from '../../src/pipelines/expand';
import { pipelineName } from '../../src/pipelines/ref';
import { UserError } from '../../src/util/errors';

const base = {
  duration: { requests: 10 },
  devices: { count: 1, arrival: { type: 'poisson', ratePerS: 1 }, profile: 'raspberry-pi-4' },
  uplink: { type: 'constant', rateBps: 1e6 },
  downlink: { type: 'constant', rateBps: 1e6 },
  edge: { profile: 't4' },
};
const expand = (pipelines: unknown, over: Record<string, unknown> = {}) =>
  expandPipelines(parseScenario({ ...base, ...over, pipelines }, 'e.yaml'), 'e.yaml');
const names = (pipelines: unknown) => expand(pipelines).measured.map(pipelineName);
const problems = (pipelines: unknown, over: Record<string, unknown> = {}): string => {
  try {
    expand(pipelines, over);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expanded without problems');
};

describe('pipeline expansion', () => {
  test("'all': every split with every feature setting, every student, every input quality, both extremes", () => {
    const all = names('all');
    // teacher: device-only + 22 input settings + 5 splits x 44 feature settings (34 naive + 10
    // codec feature compression); 4 students; 4 channel-reduction stages; the SC2 methods'
    // 15 models (8 neural input codecs, 4 End-to-End, 3 hyperprior students), one each.
    expect(all.length).toBe(1 + 22 + 5 * 44 + 4 + 4 + 15);
    expect(all).toContain('nic-hp-l4/bottleneck/hyperprior');
    expect(all).toContain('e2e-b1/bottleneck/factorized');
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain('student-b1/bottleneck/factorized');
    expect(all).toContain('channel-reduction/bottleneck/fixedquant[entropy=brotli]');
    expect(all).toContain('teacher/pool/float16');
    expect(names(['teacher/all']).length).toBe(1 + 22 + 5 * 44);
  });

  test('sweeps are products of parameter lists; model-specific codecs default to every model that has them', () => {
    expect(names([{ jpeg: { quality: [10, 90] } }])).toEqual(expect.arrayContaining(['teacher/input/jpeg[quality=10]', 'teacher/input/jpeg[quality=90]']));
    const q = names([{ split: ['stage1', 'stage2'], quant: { bits: [8, 2], entropy: ['rans', 'deflate'] } }]).filter((n) => n.includes('quant'));
    expect(q.length).toBe(2 * 2 * 2);
    expect(names([{ factorized: {} }]).filter((n) => n.includes('factorized'))).toEqual(['student-b0.1', 'student-b0.15', 'student-b0.3', 'student-b1'].map((m) => `${m}/bottleneck/factorized`));
    expect(names([{ model: 'student-b1', split: 'decoder', float16: null }])).toContain('student-b1/decoder/float16');
  });

  test('the two extremes are always there: device-only and each input codec at its default', () => {
    const n = names(['student-b0.1/bottleneck/factorized', 'teacher/input/jpeg[quality=30]']);
    expect(n.slice(0, 2)).toEqual(['student-b0.1/bottleneck/factorized', 'teacher/input/jpeg[quality=30]']);
    expect(n).toContain('teacher/device-only');
    expect(n).toContain('teacher/input/webp[quality=75]');
    expect(n).not.toContain('teacher/input/jpeg[quality=75]'); // jpeg is already there at quality 30
    expect(expand(['student-b0.1/bottleneck/factorized']).reference).toBe('teacher/device-only');
  });

  test('declared pipelines stay declared; with no measured pipeline no extreme is added', () => {
    const e = expand([{ name: 'a', deviceMs: 3, payloadBytes: 10, edgeMs: 1, resultBytes: 1 }]);
    expect(e.declared.map((d) => d.name)).toEqual(['a']);
    expect(e.measured).toEqual([]);
    expect(problems([{ name: 'a', local: true, deviceMs: 1 }, { name: 'a', local: true, deviceMs: 2 }])).toMatch(/duplicate pipeline name 'a'/);
  });

  test.each([
    [['nope/input/raw'], /field 'pipelines\[0\]': unknown model 'nope' \(models: teacher, student-b0\.1/],
    [['teacher/stage2/jpeg[quality=50]'], /'jpeg' is an input codec: use it at split 'input'/],
    [['teacher/input/quant'], /'quant' codes a tensor, not an image: use it at a split point \(stem, stage1, stage2, stage3, pool\)/],
    [['teacher/stage2/factorized'], /'factorized' needs the model's learned entropy prior \(a student\), which teacher does not have/],
    [['student-b1/decoder/factorized'], /'factorized' codes student-b1's bottleneck: use it at split 'bottleneck'/],
    [['teacher/device-only/raw'], /'device-only' takes no codec/],
    [['teacher/stage2'], /is not a pipeline name \(expected 'model\/split\/codec\[params\]'/],
    [[{ quant: { bits: 4 } }], /field 'pipelines\[0\]\.split': required for feature codec 'quant' \(split points of teacher: stem/],
    [[{ jpeg: { quality: 5 }, webp: { quality: 5 } }], /a sweep names one codec, got jpeg, webp/],
    [[{ jepg: { quality: 5 } }], /field 'pipelines\[0\]\.jepg': unknown codec 'jepg'/],
    [[{ avif: { quality: [10, 500] } }], /field 'pipelines\[0\]\.avif': codec 'avif': parameter 'quality'/],
  ])('%j is refused naming the field and the valid choices', (pipelines, pattern) => {
    const msg = problems(pipelines);
    expect(msg).toContain('e.yaml');
    expect(msg).toMatch(pattern as RegExp);
  });

  test('every problem of the file at once, counted', () => {
    const msg = problems(['nope/input/raw', 'teacher/input/jpg', { webp: { qualty: 3 } }, 'teacher/input/png'], { devices: { count: 1, arrival: { type: 'poisson', ratePerS: 1 } } });
    expect(msg).toMatch(/^4 problems; nothing was run:/);
    expect(msg.split('\n')).toHaveLength(5);
    expect(msg).toMatch(/field 'devices\.profile': required/);
  });
});
