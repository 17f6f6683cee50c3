import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { parseShardSpec, partialFileName } from '../../src/measure/shard';

/**
 * No cluster runs here, so the Kubernetes manifest is checked statically: every document
 * against the Kubernetes OpenAPI schema of its kind (kubernetes-models' validators: types,
 * enums, required fields; unknown fields are not flagged, as kubeconform without -strict), and
 * for what the schema cannot see: an Indexed measure Job whose pods run `measure --shard
 * $(JOB_COMPLETION_INDEX)/N` with N = completions = parallelism, a merge Job waiting for the N
 * partial files that measure writes, and mounts that name declared volumes and claims.
 */
const file = path.resolve(__dirname, '..', '..', 'deploy', 'kubernetes', 'measure-job.yaml');
const docs = parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, any>);
const VALIDATORS: Record<string, (o: any) => { validate(): void }> = {
  'v1/PersistentVolumeClaim': (o) => new PersistentVolumeClaim(o),
  'batch/v1/Job': (o) => new Job(o),
};

test('every document is valid against the schema of its kind', () => {
  expect(docs.map((d) => `${d.apiVersion}/${d.kind}`)).toEqual(['v1/PersistentVolumeClaim', 'batch/v1/Job', 'batch/v1/Job']);
  for (const d of docs) expect(() => VALIDATORS[`${d.apiVersion}/${d.kind}`](d).validate()).not.toThrow();
});

test('the validator does reject broken Jobs (so the check above can fail)', () => {
  const job = docs[1];
  const broken = [
    { ...job, spec: { ...job.spec, completionMode: 'Sideways' } },
    { ...job, spec: { ...job.spec, completions: 'four' } },
    { ...job, spec: { ...job.spec, template: { spec: { restartPolicy: 'Never' } } } },
  ];
  for (const b of broken) expect(() => new Job(b).validate()).toThrow();
});

test('the measure Job runs shards 0..N-1 of N, and the merge waits for exactly their N partials', () => {
  const [pvc, measure, merge] = docs;
  const spec = measure.spec;
  expect(spec.completionMode).toBe('Indexed');
  expect(spec.parallelism).toBe(spec.completions);
  const n = spec.completions as number;
  const c = spec.template.spec.containers[0];
  const args = c.args as string[];
  expect(c.command).toEqual(['splitsim']);
  expect(args[0]).toBe('measure');
  const shard = args[args.indexOf('--shard') + 1];
  expect(shard).toBe(`$(JOB_COMPLETION_INDEX)/${n}`);
  for (let i = 0; i < n; i++) expect(parseShardSpec(shard.replace('$(JOB_COMPLETION_INDEX)', String(i)))).toEqual({ index: i, count: n });
  const partials = args[args.indexOf('--out') + 1];
  const wait = merge.spec.template.spec.initContainers[0].args.join(' ') as string;
  // The glob of the wait matches the names measure gives the N partials, and counts N of them.
  const glob = /ls (\S+)/.exec(wait)![1];
  const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  for (let i = 0; i < n; i++) expect(path.posix.join(partials, partialFileName({ index: i, count: n }))).toMatch(re);
  expect(wait).toContain(`-eq ${n}`);
  expect(merge.spec.template.spec.containers[0].args.slice(0, 2)).toEqual(['merge', partials]);
  for (const job of [measure, merge]) {
    const pod = job.spec.template.spec;
    const volumes = new Set(pod.volumes.map((v: any) => v.name));
    for (const ct of [...pod.containers, ...(pod.initContainers ?? [])]) for (const m of ct.volumeMounts) expect(volumes.has(m.name)).toBe(true);
    for (const v of pod.volumes) expect(v.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
  }
  expect(pvc.spec.accessModes).toContain('ReadWriteMany');
});
