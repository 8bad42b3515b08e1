/**
 * Black-box: the real `mamori` command in child processes — first start prints the one-time
 * passwords once and listens; a restart keeps everything; CLI commands work offline (opening the
 * data folder) and online (through the running server with MAMORI_TOKEN); on a port already taken,
 * or a file it cannot read, it says so and exits.
 * With DATABASE_URL (the PostgreSQL stage of CI) the same command runs on a fresh database there,
 * in production mode: key files made by `mamori keys init`, demo data asked for explicitly.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { deadline } from './support/deadline.ts';
import { BIN, run, scratch, stop, type Scratch, type Server } from './support/process.ts';
import { testPki } from './support/tls.ts';

let s: Scratch | undefined;
after(async () => s?.cleanup());

async function start() {
  const server = s!.serve();
  return { child: server, url: await server.listening, output: server.output };
}

test('first start, restart, and the CLI offline and through the server', { timeout: 300_000 }, async () => {
  s = await scratch('serve', { MAMORI_DEMO_CONTACTS: '150' });
  const { env, databaseUrl, dir } = s;
  if (databaseUrl) {
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
  // A good file: after the bar of bytes read, the steps without a measure are named (not a terminal: one line each).
  await writeFile(csv, 'company_name,prefecture,person_name,email\n守り商事,東京都,山田 太郎,taro@example.jp\n');
  const good = await run(process.execPath, [BIN, 'import', 'contacts', csv], { env: env() });
  assert.match(good.stdout, /^imported 1 rows in /m);
  assert.match(good.stderr, /^import contacts: 1 rows written; rebuilding the search index…$/m);
  assert.match(good.stderr, /^import contacts: committing…$/m);

  // Restart: nothing is seeded again, the data and the token are still there; online CLI works.
  const second = await start();
  assert.doesNotMatch(second.output(), /one-time passwords|ワンタイムパスワード/);
  assert.equal((await fetch(`${second.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: adminPassword }) })).status, 200);
  const { stdout: online } = await run(process.execPath, [BIN, 'audit', 'tail', '-n', '3'], { env: env({ MAMORI_TOKEN: token.trim() }) });
  assert.equal(online.trim().split('\n').length, 3);
  await stop(second.child);

  // A failure while it starts — its HTTP port taken, its SMTP submission port taken (started before
  // the HTTP app listens), a file it cannot read (the relay's CA, read once the demo data is in
  // place) — and the server says so and exits, rather than live on serving nothing (its jobs were
  // started before it listens); the data folder is closed properly and the CLI opens it after.
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const pki = await testPki();
    await writeFile(path.join(dir, 'submission.crt'), pki.cert);
    await writeFile(path.join(dir, 'submission.key'), pki.key, { mode: 0o600 });
    const submission = { MAMORI_SUBMISSION_PORT: String(port), MAMORI_SUBMISSION_CERT_FILE: path.join(dir, 'submission.crt'), MAMORI_SUBMISSION_KEY_FILE: path.join(dir, 'submission.key') };
    const missing = path.join(dir, 'relay-ca-missing.pem');
    const inUse = new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`);
    const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const failures: [string, Record<string, string>, RegExp][] = [
      ['its HTTP port is taken', { PORT: String(port) }, inUse],
      ['its submission port is taken', { PORT: '0', ...submission }, inUse],
      ["its relay's CA file cannot be read", { MAMORI_RELAY_URL: 'smtps://relay.example.jp:465', MAMORI_RELAY_CA_FILE: missing }, literally(`ENOENT: no such file or directory, open '${missing}'`)],
    ];
    for (const [what, extra, message] of failures) {
      const failed: Server = s.serve(extra);
      const ended = await deadline(failed.exited, 120_000, () => null);
      assert.ok(ended, `the server exits when ${what}:\n${failed.output()}`);
      assert.equal(ended.code, 1);
      assert.match(failed.output(), message);
    }
  } finally {
    await new Promise((r) => taken.close(r));
  }
  const { stdout: afterwards } = await run(process.execPath, [BIN, 'audit', 'tail', '-n', '1'], { env: env() });
  assert.equal(afterwards.trim().split('\n').length, 1);
});
