import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './logger.ts';

test('the logger censors credentials and personal values wherever they appear', async () => {
  let out = '';
  const sink = new Writable({ write(chunk, _enc, cb) { out += chunk.toString(); cb(); } });
  const log = createLogger('info', sink);
  log.info({ req: { headers: { authorization: 'Bearer mmt_secret', cookie: 'mamori_session=abc' } }, password: 'hunter2hunter2', values: { person_name: '山田 太郎' }, x: { email: 'taro@example.jp' } }, 'request');
  await new Promise((r) => setImmediate(r));
  assert.ok(out.includes('[redacted]'));
  for (const secret of ['mmt_secret', 'mamori_session=abc', 'hunter2', '山田', 'taro@example.jp']) assert.ok(!out.includes(secret), secret);
});
