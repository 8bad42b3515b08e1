/**
 * The real server for end-to-end tests: `mamori serve` in a child process on a fresh data folder
 * (embedded PGlite), a random port, and the built console. Parses the listen line and the
 * one-time passwords from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from '../../apps/server/bin/node-flags.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'apps/server/bin/mamori.mjs');

export type RunningServer = {
  url: string;
  passwords: Map<string, string>;
  output(): string;
  stop(): Promise<void>;
};

/** A port that was free a moment ago (for a server whose public URL must name its port in advance). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Runs `start` with a port that was free a moment ago, for a server whose public URL must name its
 * port before it starts. Should another process take the port meanwhile, the server exits with
 * EADDRINUSE and `start` runs again with another port.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if (i >= attempts || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

export async function startServer(opts: { contacts?: number; port?: number; env?: Record<string, string> } = {}): Promise<RunningServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-e2e-'));
  const env: NodeJS.ProcessEnv = { ...process.env, MAMORI_DATA_DIR: dir, PORT: String(opts.port ?? 0), MAMORI_DEMO_CONTACTS: String(opts.contacts ?? 300), LOG_LEVEL: 'warn', ...opts.env };
  delete env.DATABASE_URL; // the embedded mode, as `npm start` runs it
  // As `npx mamori serve` runs it: with Node's start-up flags from the command's `#!` line (ADR 0019).
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags(), BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 180_000);
    const check = () => {
      const m = /Mamori listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    // 'close', not 'exit': by then its last words (an EADDRINUSE, say) are in `out`.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const url = await listening.catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const passwords = new Map<string, string>();
  for (const m of out.matchAll(/^ {2}([a-z]+) +(\S+) {3}/gm)) passwords.set(m[1]!, m[2]!);
  if (!passwords.has('admin')) throw new Error(`no one-time passwords in the output:\n${out}`);
  return {
    url,
    passwords,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
