import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors';

/** Largest text file read by default (YAML scenarios, profiles): 16 MB. */
export const MAX_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * Checks that `file` is a regular file of at most maxBytes before anything reads it: a
 * directory, a device (/dev/zero), a FIFO or a socket is refused by type, a huge file by size.
 */
export function checkRegularFile(file: string, what: string, maxBytes: number): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: ${what} not found`);
    if (code === 'ELOOP') throw new UserError(`${file}: ${what} path loops (symbolic links)`);
    throw new UserError(`${file}: cannot read ${what} (${code ?? String(e)})`);
  }
  if (st.isDirectory()) throw new UserError(`${file}: expected a ${what}, found a directory`);
  if (!st.isFile()) throw new UserError(`${file}: expected a ${what}, found a special file (device, FIFO or socket)`);
  if (st.size > maxBytes) throw new UserError(`${file}: ${what} is ${st.size} bytes, more than the ${maxBytes} accepted`);
}

/** Reads a file, turning a missing, special, oversized or unreadable file into a UserError naming it. */
export function readTextFile(file: string, what = 'file', maxBytes = MAX_TEXT_BYTES): string {
  checkRegularFile(file, what, maxBytes);
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
  let value: unknown;
  try {
    // Aliases expanding past this count are a resource-exhaustion attack (a 'billion laughs').
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new UserError(`${file}: YAML refused: ${(e as Error).message.split('\n')[0]}`);
  }
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
 * `dir`; anything with a path separator is taken as given, and so is a bare file name that
 * exists in the working directory (a user's own my.yaml wins over a shipped one).
 */
export function resolveNamed(name: string, dir: string, ext = '.yaml'): string {
  if (name.includes('/') || name.includes(path.sep)) return name;
  if ((name.endsWith(ext) || name.endsWith('.yml')) && fs.existsSync(name) && fs.statSync(name).isFile()) return path.resolve(name);
  const withExt = name.endsWith(ext) || name.endsWith('.yml') ? name : name + ext;
  return path.join(dir, withExt);
}
