import * as fs from 'fs';
import * as path from 'path';
import { UserError } from './errors';

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
 * Checks that `dir` can hold a command's outputs: not empty text, not a regular file, not
 * under one. A UserError names the flag and the problem.
 */
export function checkOutputDir(dir: string, flag = '--out'): void {
  if (dir.trim() === '') throw new UserError(`${flag}: expected a folder, got an empty path`);
  let d = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try { st = fs.statSync(d); } catch { st = undefined; }
    if (st && !st.isDirectory()) {
      throw new UserError(`${flag} ${dir}: ${d === path.resolve(dir) ? 'is a file, not a folder' : `${d} is a file, so no folder can be made under it`}`);
    }
    if (st) return;
    const up = path.dirname(d);
    if (up === d) return;
    d = up;
  }
}

const LOCK = '.splitsim.lock';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `dir`'s output lock (waiting for another writer, breaking a dead one's lock). */
function lock(dir: string): () => void {
  const file = path.join(dir, LOCK);
  const t0 = Date.now();
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => { try { fs.unlinkSync(file); } catch { /* gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(file, 'utf8').trim());
      } catch (r) {
        // The holder released it between our open and our read: try again at once.
        if ((r as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw r;
      }
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        try { fs.unlinkSync(file); } catch { /* raced */ }
        continue;
      }
      if (Date.now() - t0 > 60000) throw new UserError(`${dir}: another splitsim run has held its output lock (${LOCK}) for a minute`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/**
 * The output files of one run, written as a set. Files are written (or streamed) into a
 * temporary folder beside the output folder; commit() moves them all into place under the
 * folder's lock, removing the files the same command wrote last time and does not write now
 * (its manifest, `.splitsim-<command>.json`, lists them). So a run either leaves all its files
 * or none; two runs into one folder never leave a mix (the later commit wins whole); a failed
 * run leaves the previous results as they were; other commands' files in the folder stay.
 */
export class OutputSet {
  private readonly files = new Map<string, string | Uint8Array | null>();
  private tmp: string | undefined;

  /**
   * @param dir the output folder (created at commit)
   * @param command the command whose files these are (one manifest per command)
   */
  constructor(readonly dir: string, readonly command: string) {
    checkOutputDir(dir);
  }

  private rel(file: string): string {
    const r = path.relative(path.resolve(this.dir), path.resolve(this.dir, file));
    if (r === '' || r.startsWith('..') || path.isAbsolute(r)) throw new Error(`output ${file} is not inside ${this.dir}`);
    return r;
  }

  private tmpDir(): string {
    if (!this.tmp) {
      const abs = path.resolve(this.dir);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      this.tmp = fs.mkdtempSync(path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${process.pid}-`));
    }
    return this.tmp;
  }

  /** Adds a file (a path inside dir, or a name relative to it) with its content. */
  add(file: string, data: string | Uint8Array): void {
    this.files.set(this.rel(file), data);
  }

  /** A temporary path to stream a file to (it is moved into place by commit()). */
  streamPath(file: string): string {
    const r = this.rel(file);
    this.files.set(r, null);
    const p = path.join(this.tmpDir(), r);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    return p;
  }

  /** Final paths of the files, in the order added. */
  paths(): string[] {
    return [...this.files.keys()].map((r) => path.join(path.resolve(this.dir), r));
  }

  /** Writes the set into place (see the class comment). */
  commit(): void {
    const tmp = this.tmpDir();
    try {
      for (const [r, data] of this.files) {
        if (data === null) continue;
        const p = path.join(tmp, r);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, data);
      }
      const dir = path.resolve(this.dir);
      fs.mkdirSync(dir, { recursive: true });
      const unlock = lock(dir);
      try {
        const manifest = path.join(dir, `.splitsim-${this.command}.json`);
        let previous: string[] = [];
        try { previous = JSON.parse(fs.readFileSync(manifest, 'utf8')).files ?? []; } catch { previous = []; }
        for (const old of previous) {
          if (this.files.has(old)) continue;
          const target = path.join(dir, old);
          if (path.relative(dir, target).startsWith('..')) continue;
          try { fs.unlinkSync(target); } catch { /* gone */ }
        }
        for (const r of this.files.keys()) {
          const to = path.join(dir, r);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.renameSync(path.join(tmp, r), to);
        }
        writeFileAtomic(manifest, JSON.stringify({ command: this.command, files: [...this.files.keys()] }) + '\n');
      } finally {
        unlock();
      }
    } finally {
      this.abort();
    }
  }

  /** Drops the temporary folder (a failed run leaves nothing). */
  abort(): void {
    if (this.tmp) {
      fs.rmSync(this.tmp, { recursive: true, force: true });
      this.tmp = undefined;
    }
  }
}
