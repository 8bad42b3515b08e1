/**
 * Black-box: `mamori audit export --jsonl` in child processes, offline (opening the data folder) and
 * through a running server (MAMORI_TOKEN). The output is checked line by line against the log, and
 * each export is itself in the log as an `audit.export` event naming its range.
 * With DATABASE_URL the same runs on a fresh PostgreSQL database in production mode.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../src/platform/db/database.ts';
import { auditRepository, leafHash } from '../src/modules/audit/index.ts';
import { BIN, run, scratch, stop, type Scratch } from './support/process.ts';

let s: Scratch | undefined;
after(async () => s?.cleanup());

type Line = { seq: number; leafHash: string; event: { action: string; actor: { kind: string; token: string | null }; details: Record<string, unknown> } };
const parse = (out: string): Line[] => {
  const lines = out.split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a complete line');
  return lines.map((l) => JSON.parse(l) as Line);
};

test('mamori audit export --jsonl: offline and through the server, equal to the log, audited', { timeout: 300_000 }, async () => {
  s = await scratch('export-cli', { MAMORI_DEMO: 'true', MAMORI_DEMO_CONTACTS: '5' });
  const { env, databaseUrl, dir } = s;
  if (databaseUrl) {
    await run(process.execPath, [BIN, 'keys', 'init', '--master', env().MAMORI_MASTER_KEY_FILE!, '--log', env().MAMORI_LOG_KEY_FILE!], { env: env() });
  }
  await run(process.execPath, [BIN, 'init'], { env: env() });

  // Offline, a range to stdout (inclusive at both ends), with the count on stderr.
  const ranged = await run(process.execPath, [BIN, 'audit', 'export', '--jsonl', '--from', '2', '--to', '9'], { env: env() });
  const rangedLines = parse(ranged.stdout);
  assert.deepEqual(rangedLines.map((l) => l.seq), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.match(ranged.stderr, /exported 8 events/);

  // Offline, everything to a file.
  const file = path.join(dir, 'export.jsonl');
  await run(process.execPath, [BIN, 'audit', 'export', '--jsonl', '--output', file], { env: env() });
  const full = parse(await readFile(file, 'utf8'));
  assert.deepEqual(full.map((l) => l.seq), full.map((_, i) => i), 'from 0, no gap');
  assert.deepEqual(full.slice(2, 10), rangedLines, 'the same events, byte for byte');
  assert.equal(full.at(-1)!.event.action, 'audit.export', 'the first export is in the log before the second one read it');
  assert.deepEqual(full.at(-1)!.event.details, { format: 'jsonl', from: 2, to: 9, count: 8, treeSize: full.at(-1)!.event.details.treeSize });

  await assert.rejects(run(process.execPath, [BIN, 'audit', 'export', '--from', '1'], { env: env() }), /--jsonl/);
  await assert.rejects(run(process.execPath, [BIN, 'audit', 'export', '--jsonl', '--from', '5', '--to', '1'], { env: env() }), /--to/);

  // Through a running server, as the auditor's API token.
  const { stdout: token } = await run(process.execPath, [BIN, 'token', 'create', '--user', 'auditor', '--name', 'export'], { env: env() });
  const server = s.serve();
  await server.listening;
  const online = await run(process.execPath, [BIN, 'audit', 'export', '--jsonl'], { env: env({ MAMORI_TOKEN: token.trim() }) });
  const onlineLines = parse(online.stdout);
  assert.deepEqual(onlineLines.slice(0, full.length), full, 'through the server: the same lines as offline');
  await stop(server);

  // Against the log itself, and each export on record.
  const database = await openDatabase({ databaseUrl, dataDir: path.join(dir, 'pgdata') });
  try {
    const log = await auditRepository(database.db).integratedRange(0, onlineLines.length);
    assert.equal(log.length, onlineLines.length);
    onlineLines.forEach((l, i) => {
      assert.equal(l.seq, log[i]!.log_index);
      assert.equal(JSON.stringify(l.event), log[i]!.payload);
      assert.equal(l.leafHash, leafHash(Buffer.from(log[i]!.payload, 'utf8')).toString('base64'));
    });
    const exports = (await auditRepository(database.db).list({ action: 'audit.export', limit: 10 })).map((r) => JSON.parse(r.payload) as Line['event']);
    assert.equal(exports.length, 3, 'two offline exports and one through the server');
    assert.ok(exports.some((e) => e.actor.kind === 'user' && e.actor.token !== null), 'the online export names the token');
  } finally {
    await database.close();
  }
});
