import * as fs from 'fs';
import * as path from 'path';

let counter = 0;

/** Writes a file atomically: the data goes to a temporary sibling, which is then renamed. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

/**
 * Collects output files and writes them all only at the end, so that a command that fails
 * half way leaves nothing behind. Each file is still written atomically.
 */
export class OutputSet {
  private readonly files = new Map<string, string | Uint8Array>();
  add(file: string, data: string | Uint8Array): void { this.files.set(file, data); }
  paths(): string[] { return [...this.files.keys()]; }
  commit(): void { for (const [f, d] of this.files) writeFileAtomic(f, d); }
}
