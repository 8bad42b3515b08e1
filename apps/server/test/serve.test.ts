/**
 * Black-box: the real `mamori` command in child processes — first start prints the one-time
 * passwords once and listens; a restart keeps everything; CLI commands work offline (opening the
 * data folder) and online (through the running server with MAMORI_TOKEN).
 * With DATABASE_URL (the PostgreSQL stage of CI) the same command runs on a fresh database there,
 * in production mode: key files made by `mamori keys init`, demo data asked for explicitly.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/mamori.mjs');
const run = promisify(execFile);
let dir = '';
const children: ChildProcess[] = [];
const ADMIN_URL = process.env.DATABASE_URL;
let databaseUrl: string | null = null;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, MAMORI_DATA_DIR: dir, PORT: '0', MAMORI_DEMO_CONTACTS: '150', LOG_LEVEL: 'warn', ...extra };
  delete e.DATABASE_URL;
  if (databaseUrl) {
    Object.assign(e, {
      DATABASE_URL: databaseUrl, MAMORI_DEMO: 'true', MAMORI_MASTER_KEY_FILE: path.join(dir, 'secrets', 'master.json'),
      MAMORI_LOG_KEY_FILE: path.join(dir, 'secrets', 'log.json'), MAMORI_AUDIT_WITNESS_FILES: path.join(dir, 'witness.log'),
    });
  }
  return e;
}

async function start(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listen line:\n${out}`)), 120_000);
    child.stdout!.on('data', () => {
      const m = /Mamori listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}:\n${out}`)));
  });
  return { child, url, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
  if (databaseUrl && ADMIN_URL) {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${new URL(databaseUrl).pathname.slice(1)} WITH (FORCE)`);
    await admin.end();
  }
});

test('first start, restart, and the CLI offline and through the server', { timeout: 300_000 }, async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-serve-'));
  if (ADMIN_URL) {
    const name = `mamori_serve_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    // Production mode has no default secrets: without key files the server refuses to start.
    await assert.rejects(run(process.execPath, [BIN, 'serve'], { env: env() }), /MAMORI_MASTER_KEY|ENOENT|keyfile/);
    const { stdout } = await run(process.execPath, [BIN, 'keys', 'init', '--master', env().MAMORI_MASTER_KEY_FILE!, '--log', env().MAMORI_LOG_KEY_FILE!], { env: env() });
    assert.match(stdout, /master keyring/);
  }

  // First start: seeds, prints one-time passwords once, listens, serves health, OpenAPI and metrics.
  const first = await start();
  const adminPassword = /^\s+admin\s+(\S+)/m.exec(first.output())?.[1];
  assert.ok(adminPassword, 'the admin one-time password is printed');
  assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
  const openapi = (await (await fetch(`${first.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(openapi.openapi, '3.1.0');
  assert.ok(openapi.paths['/api/datasets/{name}/records/search']);
  assert.equal((await fetch(`${first.url}/docs`, { redirect: 'manual' })).status < 400, true);
  assert.match(await (await fetch(`${first.url}/metrics`)).text(), /mamori_http_requests_total/);
  const login = await fetch(`${first.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: adminPassword }) });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);

  if (databaseUrl) {
    // On PostgreSQL the CLI opens the database itself, next to the running server.
    const { stdout } = await run(process.execPath, [BIN, 'audit', 'tail', '-n', '2'], { env: env() });
    assert.equal(stdout.trim().split('\n').length, 2);
  } else {
    // While it runs, a CLI command without a token is told to use one (the embedded database is the server's).
    await assert.rejects(run(process.execPath, [BIN, 'audit', 'tail'], { env: env() }), /MAMORI_TOKEN/);
  }
  await stop(first.child);

  // Offline: the local operator issues a token for the auditor and reads the log.
  const { stdout: token } = await run(process.execPath, [BIN, 'token', 'create', '--user', 'auditor', '--name', 'ci'], { env: env() });
  assert.match(token.trim(), /^mmt_[A-Za-z0-9_-]{40,}$/);
  const { stdout: tail } = await run(process.execPath, [BIN, 'audit', 'tail', '-n', '5'], { env: env() });
  const events = tail.trim().split('\n').map((l) => JSON.parse(l) as { event: { action: string } });
  assert.equal(events.length, 5);
  assert.equal(events.at(-1)!.event.action, 'token.create');

  // Offline verification of the whole log against its checkpoints and the witness file.
  const { stdout: verified } = await run(process.execPath, [BIN, 'audit', 'verify'], { env: env() });
  assert.match(verified, /^OK: \d+ events, \d+ checkpoints, \d+ witness copies/);

  // Offline import as the operator: one bad line → nothing, and the line is named.
  const csv = path.join(dir, 'in.csv');
  await writeFile(csv, 'company_name,prefecture,person_name,email\n守り商事,東京都,山田 太郎,taro@example.jp\n守り商事,東京都,山田 花子,not-mail\n');
  const bad = await run(process.execPath, [BIN, 'import', 'contacts', csv], { env: env() }).then(() => null, (e: { stderr: string }) => e.stderr);
  assert.match(bad ?? '', /import\.invalid/);
  assert.match(bad ?? '', /"line": 3/);
  assert.doesNotMatch(bad ?? '', /not-mail/);

  // Restart: nothing is seeded again, the data and the token are still there; online CLI works.
  const second = await start();
  assert.doesNotMatch(second.output(), /one-time passwords|ワンタイムパスワード/);
  assert.equal((await fetch(`${second.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: adminPassword }) })).status, 200);
  const { stdout: online } = await run(process.execPath, [BIN, 'audit', 'tail', '-n', '3'], { env: env({ MAMORI_TOKEN: token.trim() }) });
  assert.equal(online.trim().split('\n').length, 3);
  await stop(second.child);
});
