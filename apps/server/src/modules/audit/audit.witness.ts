/**
 * Witness destinations outside the database. Each new checkpoint is appended to every configured
 * file (append-only, one note per record, records separated by a blank line and a form feed) and
 * POSTed to every configured URL. A database operator who deletes the newest events cannot delete
 * these copies, so `mamori audit verify` detects the truncation.
 */
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';

export type Witness = {
  name: string;
  publish(note: string): Promise<void>;
  read?(): Promise<string[]>;
  /** The newest note only (the console's status), without reading the whole history. */
  latest?(): Promise<string | null>;
};

const SEPARATOR = '\f\n';

export function fileWitness(file: string): Witness {
  return {
    name: `file:${file}`,
    async publish(note) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await appendFile(file, note + SEPARATOR, { mode: 0o600 });
    },
    async read() {
      try {
        return (await readFile(file, 'utf8')).split(SEPARATOR).filter((x) => x.trim() !== '');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    async latest() {
      // A note is a few hundred bytes: the file's last 64 KiB hold the newest complete one.
      let fh;
      try {
        fh = await open(file, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
      try {
        const { size } = await fh.stat();
        const length = Math.min(size, 64 * 1024);
        const buf = Buffer.alloc(length);
        await fh.read(buf, 0, length, size - length);
        const text = buf.toString('utf8');
        const end = text.lastIndexOf(SEPARATOR);
        if (end < 0) return null;
        const start = text.lastIndexOf(SEPARATOR, end - 1);
        const note = text.slice(start < 0 ? 0 : start + SEPARATOR.length, end);
        return note.trim() === '' ? null : note;
      } finally {
        await fh.close();
      }
    },
  };
}

export function httpWitness(url: string): Witness {
  return {
    name: `http:${new URL(url).host}`,
    async publish(note) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: note, signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`witness answered ${res.status}`);
    },
  };
}
