#!/usr/bin/env node
// A throwaway PostgreSQL server for tests and benchmarks.
//
//   import { startTempPostgres } from './pg-temp.mjs';
//   const pg = await startTempPostgres({ log: console.error });
//   process.env.DATABASE_URL = pg.url;   // postgres://postgres@127.0.0.1:<port>/postgres
//   ...
//   await pg.stop();
//
// CLI (for developers): `node scripts/pg-temp.mjs [--port N]` starts one, prints its URL on
// stdout and keeps running until killed (Ctrl-C), then stops the server and removes its files.
//
// Binaries: $PG_BIN, else /usr/lib/postgresql/15/bin (Debian package postgresql-15; see
// scripts/ensure-postgres.sh). PostgreSQL refuses to run as root, so as root the server runs as
// the `postgres` system user (created if missing) through runuser; otherwise as the current user.
// The cluster lives in a new temp dir (data, unix socket, log) that is removed by stop(), and on
// process exit, SIGINT, SIGTERM or SIGHUP.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, appendFileSync, readFileSync, rmSync, chownSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setInterval } from 'node:timers';

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';
const RUN_AS_USER = 'postgres';

/** Server settings suited to throwaway test clusters (durability off, speed on). */
const TEST_SETTINGS = {
  listen_addresses: "'127.0.0.1'",
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_connections: '200',
  shared_buffers: '256MB',
  jit: 'off',
  timezone: "'UTC'",
  log_timezone: "'UTC'",
  logging_collector: 'off',
};

/**
 * Extra server settings from PG_TEMP_SETTINGS (`name=value;name=value`, values as postgresql.conf
 * writes them), for measurements: e.g. `shared_preload_libraries='pg_stat_statements'` for the gate
 * bench's BENCH_PG_STATEMENTS.
 */
function extraSettings() {
  const raw = process.env.PG_TEMP_SETTINGS;
  if (!raw) return {};
  const out = {};
  for (const part of raw.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`PG_TEMP_SETTINGS: expected name=value, got ${part}`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** Directory holding initdb/pg_ctl/postgres, or throws a clear error. */
export function findPgBin() {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) {
    if (existsSync(join(fromEnv, 'initdb')) && existsSync(join(fromEnv, 'pg_ctl'))) return fromEnv;
    throw new Error(`PG_BIN=${fromEnv} does not contain initdb and pg_ctl (Debian package postgresql-15 installs them in ${DEFAULT_BIN}).`);
  }
  if (existsSync(join(DEFAULT_BIN, 'initdb'))) return DEFAULT_BIN;
  // Another major version from Debian's packages will do for local use.
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      if (existsSync(join(bin, 'initdb'))) return bin;
    }
  } catch {
    // no /usr/lib/postgresql at all
  }
  throw new Error(
    `PostgreSQL server binaries not found (looked for ${DEFAULT_BIN}/initdb; set PG_BIN to override). ` +
      'Install the Debian package postgresql-15: `bash scripts/ensure-postgres.sh` ' +
      '(or `apt-get update && apt-get install -y postgresql-15`).',
  );
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) throw r.error;
  return r;
}

/** uid/gid of the unprivileged user the server runs as when we are root; creates it if missing. */
function ensureRunAsUser() {
  let r = run('id', ['-u', RUN_AS_USER]);
  if (r.status !== 0) {
    const add = run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', RUN_AS_USER]);
    if (add.status !== 0) throw new Error(`could not create user ${RUN_AS_USER}: ${add.stderr}`);
    r = run('id', ['-u', RUN_AS_USER]);
  }
  const uid = Number(r.stdout.trim());
  const gid = Number(run('id', ['-g', RUN_AS_USER]).stdout.trim());
  return { uid, gid };
}

/** [command, args] running `bin` as the server's user. */
function asServerUser(root, bin, args) {
  return root ? ['runuser', ['-u', RUN_AS_USER, '--', bin, ...args]] : [bin, args];
}

function chownTree(path, uid, gid) {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

/** A currently free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function execAsync(cmd, args, opts) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ status: -1, out: out + String(err) }));
    child.on('close', (status) => resolve({ status, out }));
  });
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- cleanup on exit / signals -------------------------------------------------------------

/** @type {Set<{ stopSync: () => void, stop: () => Promise<void> }>} */
const active = new Set();
let hooksInstalled = false;

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const inst of [...active]) inst.stopSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const onSignal = () => {
      process.removeListener(sig, onSignal);
      Promise.allSettled([...active].map((inst) => inst.stop())).finally(() => {
        // Re-raise: other listeners still run; with none left, the default action ends the process.
        process.kill(process.pid, sig);
      });
    };
    process.on(sig, onSignal);
  }
}

// ---- public API ----------------------------------------------------------------------------

/**
 * Start a throwaway PostgreSQL cluster.
 * @param {{ port?: number, log?: (s: string) => void }} [options]
 * @returns {Promise<{ url: string, port: number, dir: string, stop: () => Promise<void> }>}
 */
export async function startTempPostgres(options = {}) {
  const log = options.log ?? (() => {});
  const bin = findPgBin();
  const root = isRoot();
  const owner = root ? ensureRunAsUser() : null;

  const dir = mkdtempSync(join(process.env.PG_TEMP_PARENT || tmpdir(), 'mamori-pg-'));
  const dataDir = join(dir, 'data');
  const sockDir = join(dir, 'sock');
  const logFile = join(dir, 'postgres.log');
  mkdirSync(sockDir);
  if (owner) chownTree(dir, owner.uid, owner.gid);
  const cwd = dir; // the server user may not be able to enter the caller's cwd

  const removeDir = () => rmSync(dir, { recursive: true, force: true });

  try {
    log(`pg-temp: initdb (${bin}) in ${dataDir}${root ? ` as ${RUN_AS_USER}` : ''}`);
    const [initCmd, initArgs] = asServerUser(root, join(bin, 'initdb'), [
      '-D', dataDir, '--auth=trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]);
    const init = await execAsync(initCmd, initArgs, { cwd });
    if (init.status !== 0) throw new Error(`initdb failed (exit ${init.status}):\n${init.out}`);

    const conf = Object.entries({ ...TEST_SETTINGS, ...extraSettings(), unix_socket_directories: `'${sockDir}'` })
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n');
    appendFileSync(join(dataDir, 'postgresql.conf'), `\n# mamori pg-temp test settings\n${conf}\n`);
  } catch (err) {
    removeDir();
    throw err;
  }

  const pgCtl = (args) => {
    const [cmd, a] = asServerUser(root, join(bin, 'pg_ctl'), args);
    return [cmd, a];
  };

  // Pick a port and start; when we picked the port ourselves, retry on a lost race.
  let port = 0;
  const attempts = options.port ? 1 : 3;
  for (let i = 1; ; i++) {
    port = options.port ?? (await freePort());
    log(`pg-temp: starting postgres on 127.0.0.1:${port}`);
    const [cmd, args] = pgCtl(['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', '-s', 'start']);
    const started = await execAsync(cmd, args, { cwd });
    if (started.status === 0) break;
    if (i >= attempts) {
      const msg = `pg_ctl start failed (exit ${started.status}):\n${started.out}\n--- ${logFile} ---\n${tail(logFile)}`;
      const [sc, sa] = pgCtl(['-D', dataDir, '-m', 'immediate', '-s', 'stop']);
      spawnSync(sc, sa, { cwd, stdio: 'ignore' });
      removeDir();
      throw new Error(msg);
    }
    log(`pg-temp: start failed on port ${port}, retrying`);
  }

  let stopped = false;
  const inst = {
    stopSync() {
      if (stopped) return;
      stopped = true;
      active.delete(inst);
      const [cmd, args] = pgCtl(['-D', dataDir, '-m', 'immediate', '-w', '-s', 'stop']);
      spawnSync(cmd, args, { cwd, stdio: 'ignore' });
      removeDir();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      active.delete(inst);
      log(`pg-temp: stopping postgres on port ${port}`);
      const [cmd, args] = pgCtl(['-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s', 'stop']);
      const r = await execAsync(cmd, args, { cwd });
      if (r.status !== 0) {
        const [ic, ia] = pgCtl(['-D', dataDir, '-m', 'immediate', '-w', '-s', 'stop']);
        await execAsync(ic, ia, { cwd });
      }
      removeDir();
    },
  };
  active.add(inst);
  installExitHooks();

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop: () => inst.stop(),
  };
}

// ---- CLI -----------------------------------------------------------------------------------

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : undefined;
  try {
    const pg = await startTempPostgres({ ...(port ? { port } : {}), log: (s) => console.error(s) });
    console.log(pg.url);
    console.error(`pg-temp: running (data in ${pg.dir}); Ctrl-C to stop and remove it`);
    setInterval(() => {}, 1 << 30);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
