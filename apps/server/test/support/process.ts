/**
 * Black-box tests of the real `mamori` command: a scratch data folder (and, in the PostgreSQL stage,
 * a scratch database in production mode), the environment for the child processes, and `mamori
 * serve` started as a child process that is known to be listening. Everything started is killed and
 * dropped by `cleanup()`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createServerDatabase } from './database.ts';
import { nodeFlags } from '../../bin/node-flags.mjs';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/mamori.mjs');
export const run = promisify(execFile);

export type Server = {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The base URL once the server printed its listen line; rejects if it exits first or takes 3 minutes (a loaded machine). */
  listening: Promise<string>;
  output(): string;
};

export type Scratch = {
  dir: string;
  /** A database of its own on the stage's PostgreSQL (DATABASE_URL), or null on PGlite. */
  databaseUrl: string | null;
  /** The environment of a child `mamori`: the scratch data folder; production mode on PostgreSQL. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `mamori serve` as a child process (output kept, the last 20,000 characters). */
  serve(extra?: Record<string, string>): Server;
  cleanup(): Promise<void>;
};

/**
 * `prefix` names the folder and the database; `base` holds the variables every child gets (demo
 * size, log level, …). On PostgreSQL the key files and the witness live in the scratch folder; they
 * must still be made (`mamori keys init`) before the first start: production has no default secrets.
 */
export async function scratch(prefix: string, base: Record<string, string> = {}, opts: { dataDir?: string; witnessFile?: string } = {}): Promise<Scratch> {
  const adminUrl = process.env.DATABASE_URL;
  const dir = await mkdtemp(path.join(tmpdir(), `mamori-${prefix}-`));
  const server = adminUrl ? await createServerDatabase(adminUrl, `mamori_${prefix}`) : null;
  const databaseUrl = server?.url ?? null;
  const children: ChildProcess[] = [];
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, MAMORI_DATA_DIR: opts.dataDir ? path.join(dir, opts.dataDir) : dir, PORT: '0', LOG_LEVEL: 'warn', ...base };
    delete e.DATABASE_URL;
    delete e.MAMORI_TOKEN;
    if (databaseUrl) {
      Object.assign(e, {
        DATABASE_URL: databaseUrl, MAMORI_DEMO: 'true', MAMORI_MASTER_KEY_FILE: path.join(dir, 'secrets', 'master.json'),
        MAMORI_LOG_KEY_FILE: path.join(dir, 'secrets', 'log.json'), MAMORI_AUDIT_WITNESS_FILES: path.join(dir, opts.witnessFile ?? 'witness.log'),
      });
    }
    return Object.assign(e, extra);
  };
  const serve = (extra: Record<string, string> = {}): Server => {
    // As `npx mamori serve` runs it: with Node's start-up flags from the command's `#!` line (ADR 0019).
    const child = spawn(process.execPath, [...nodeFlags(), BIN, 'serve'], { env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not listen within 180 s:\n${out}`)), 180_000);
      const check = () => {
        const m = /Mamori listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', check);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`));
      });
    });
    listening.catch(() => undefined); // a caller that kills during start-up handles it
    return { child, exited, listening, output: () => out };
  };
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    await server?.drop();
  };
  return { dir, databaseUrl, env, serve, cleanup };
}

/** SIGTERM and wait for the exit. */
export async function stop(s: Server): Promise<void> {
  s.child.kill('SIGTERM');
  await s.exited;
}
