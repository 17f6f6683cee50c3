import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors';

/** Reads a file, turning a missing or unreadable file into a UserError naming it. */
export function readTextFile(file: string, what = 'file'): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: ${what} not found`);
    if (code === 'EISDIR') throw new UserError(`${file}: expected a ${what}, found a directory`);
    throw new UserError(`${file}: cannot read ${what} (${code ?? String(e)})`);
  }
}

/** Parses YAML text; syntax errors become a UserError naming the file and line. */
export function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0]?.line;
    throw new UserError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`);
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${file}: expected a YAML mapping at the top level`);
  }
  return value;
}

/** Formats the first zod issue as "file: field 'a.b[2].c': message". */
export function formatZodError(error: z.ZodError, file: string): string {
  const lines = error.issues.slice(0, 3).map((issue) => {
    const field = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join('');
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') {
      msg = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')} (misspelled?)`;
    }
    return field ? `${file}: field '${field}': ${msg}` : `${file}: ${msg}`;
  });
  return lines.join('\n');
}

/** Validates data against a zod schema, throwing a UserError that names file and field. */
export function validate<T extends z.ZodTypeAny>(schema: T, data: unknown, file: string): z.infer<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new UserError(formatZodError(result.error, file));
  return result.data;
}

/** Loads a YAML file and validates it against a schema. */
export function loadYaml<T extends z.ZodTypeAny>(schema: T, file: string, what = 'file'): z.infer<T> {
  return validate(schema, parseYaml(readTextFile(file, what), file), file);
}

/**
 * Resolves a name against a folder: a bare name ("lte" or "lte.yaml") is looked up in
 * `dir`; anything with a path separator is taken as given.
 */
export function resolveNamed(name: string, dir: string, ext = '.yaml'): string {
  if (name.includes('/') || name.includes(path.sep)) return name;
  const withExt = name.endsWith(ext) || name.endsWith('.yml') ? name : name + ext;
  return path.join(dir, withExt);
}
