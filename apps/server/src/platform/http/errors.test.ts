import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../logger.ts';
import { internalErrorReply } from './errors.ts';

test('an unexpected error answers 500 `internal` and is logged with its type, code and frames (errorForLog), never its message', () => {
  const logged: string[] = [];
  const log = createLogger('error', new Writable({ write: (c, _e, done) => done(void logged.push(String(c))) }));
  const err = Object.assign(new Error('invalid input syntax for type uuid: "yamada.taro@example.jp"\nsecond line 090-1234-5678'), { code: '22P02' });
  const r = internalErrorReply(err, 'req-9', log);
  assert.equal(r.status, 500);
  assert.deepEqual(r.body, { error: { code: 'internal', message: 'Something went wrong on our side. Quote the request id when you report it.', requestId: 'req-9' } });
  assert.equal(logged.length, 1);
  const line = JSON.parse(logged[0]!) as { msg: string; err: { type: string; code: string; stack: string } };
  assert.equal(line.msg, 'unhandled error');
  assert.equal(line.err.type, 'Error');
  assert.equal(line.err.code, '22P02');
  assert.match(line.err.stack, /^\s+at .*errors\.test\.ts/, 'the frames, where it was thrown');
  assert.doesNotMatch(logged[0]!, /yamada|example\.jp|090-1234|invalid input/);
});
