/**
 * The import's JSON Lines answer (vault.import-stream.ts) around a stand-in for the import, which lets
 * the time between its steps be chosen: the keep-alive, the outcome lines, the clean-up. The route
 * with the real import is tested in test/gate.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { AppError } from '../../platform/errors.ts';
import { createLogger } from '../../platform/logger.ts';
import { importLines, type ImportRun } from './vault.import-stream.ts';

async function answer(run: ImportRun, keepAliveMs: number, logged: string[] = []): Promise<{ lines: any[]; cleanedUp: boolean }> {
  let cleanedUp = false;
  const log = createLogger('error', new Writable({ write: (c, _e, done) => done(void logged.push(String(c))) }));
  const out = importLines(1234, run, 'req-1', log, async () => void (cleanedUp = true), keepAliveMs);
  let text = '';
  for await (const chunk of out) text += String(chunk);
  return { lines: text.trim().split('\n').map((l) => JSON.parse(l)), cleanedUp };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a long step with nothing to say repeats the last progress line; the result is the last line; the spooled file is removed', async () => {
  const { lines, cleanedUp } = await answer(async (onBytes, onProgress) => {
    onBytes(1234);
    onProgress({ phase: 'index', rows: 7, workerRows: 0 });
    await sleep(200); // twenty keep-alive periods
    onProgress({ phase: 'done', rows: 7, workerRows: 0 });
    return { imported: 7, firstId: 'a', lastId: 'b' };
  }, 10);
  const index = { progress: { phase: 'index', rows: 7, bytes: 1234, totalBytes: 1234 } };
  assert.deepEqual(lines[0], { progress: { phase: 'write', rows: 0, bytes: 0, totalBytes: 1234 } });
  const repeats = lines.filter((l) => JSON.stringify(l) === JSON.stringify(index)).length;
  assert.ok(repeats >= 3, `the index step's line said again while it lasted (${repeats} times)`);
  assert.deepEqual(lines.at(-2), { progress: { phase: 'done', rows: 7, bytes: 1234, totalBytes: 1234 } });
  assert.deepEqual(lines.at(-1), { result: { imported: 7, firstId: 'a', lastId: 'b' } });
  assert.ok(cleanedUp);
});

test('a refusal ends with its status and error body; an unexpected error with 500 `internal`, its message kept out of the answer and the log', async () => {
  const invalid = await answer(async () => {
    throw new AppError('import.invalid', '1 problem(s) found; nothing was imported.', { problems: [{ line: 3, field: 'email', problem: 'not an e-mail address' }] });
  }, 10_000);
  assert.deepEqual(invalid.lines.at(-1), {
    status: 422,
    error: { code: 'import.invalid', message: '1 problem(s) found; nothing was imported.', requestId: 'req-1', details: { problems: [{ line: 3, field: 'email', problem: 'not an e-mail address' }] } },
  });
  assert.ok(invalid.cleanedUp);

  const logged: string[] = [];
  const broken = await answer(async () => {
    throw new Error('connection to 山田太郎@example.jp lost');
  }, 10_000, logged);
  const last = broken.lines.at(-1);
  assert.equal(last.status, 500);
  assert.equal(last.error.code, 'internal');
  assert.equal(last.error.requestId, 'req-1');
  assert.doesNotMatch(JSON.stringify(broken.lines), /山田|example\.jp/);
  assert.equal(logged.length, 1, 'logged once, as an unhandled error');
  assert.doesNotMatch(logged[0]!, /山田|example\.jp/);
  assert.ok(broken.cleanedUp);
});
