/**
 * meta.json of a zoo model: its schema and reader. Kept apart from zoo.ts (which loads tfjs)
 * so that reading the zoo's index and metadata costs no backend start-up.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { formatZodError } from '../config/load';
import { UserError } from '../util/errors';

const entropySchema = z.object({
  precision: z.number().int().min(1).max(31),
  minQ: z.array(z.number().int()),
  lengths: z.array(z.number().int().min(2)),
  cdfs: z.array(z.array(z.number().int().nonnegative())),
  pmfs: z.array(z.array(z.number().nonnegative())),
  likelihoodBound: z.number().positive(),
});

const bottleneckSchema = z.object({
  layer: z.string(),
  latentShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  medians: z.array(z.number()).optional(),
  entropy: entropySchema.optional(),
  estimatedBytesPerImage: z.number().nonnegative().optional(),
  quantBits: z.number().int().optional(),
  scale: z.array(z.number()).optional(),
  zeroPoint: z.array(z.number()).optional(),
}).passthrough();

/** meta.json of a zoo model (see notes/zoo-contract.md); unknown extra fields are kept. */
export const zooMetaSchema = z.object({
  name: z.string(),
  kind: z.enum(['teacher', 'student', 'channel-reduction']),
  input: z.object({ shape: z.array(z.number().int().positive()), mean: z.number(), std: z.number().positive() }),
  splitPoints: z.array(z.string()).min(1),
  macs: z.number().int().positive(),
  params: z.number().int().positive(),
  pytorchTop1: z.number().min(0).max(1),
  bottleneck: bottleneckSchema.optional(),
  beta: z.number().optional(),
  trainedWith: z.record(z.unknown()),
  files: z.record(z.string()),
}).passthrough().superRefine((m, ctx) => {
  if (m.kind !== 'teacher' && !m.bottleneck) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bottleneck'], message: `a ${m.kind} needs its bottleneck (layer, latentShape)` });
  }
});

/** Parsed meta.json. */
export type ZooMeta = z.infer<typeof zooMetaSchema>;

/** Reads a JSON file; a missing, unreadable or malformed file is a UserError naming it. */
export function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${what} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and validates `<dir>/meta.json`. */
export function readZooMeta(dir: string): ZooMeta {
  const file = path.join(dir, 'meta.json');
  const parsed = zooMetaSchema.safeParse(readJson(file, 'model metadata'));
  if (!parsed.success) throw new UserError(formatZodError(parsed.error, file));
  return parsed.data;
}
