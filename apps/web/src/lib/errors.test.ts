import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, describeError, endsSession } from './errors.ts';

test('a policy denial carries the rule and the reason in the chosen language', () => {
  const e = new ApiError(403, 'policy.dispatch_worker', 'Dispatch workers cannot handle personal data.', 'req-1', {
    rule: 'dispatch.no_personal',
    reason: { ja: '派遣社員は個人情報を取り扱えません。', en: 'Dispatch workers cannot handle personal data.' },
  });
  const ja = describeError(e, 'ja');
  assert.equal(ja.key, 'errors.policy.dispatch_worker');
  assert.equal(ja.rule, 'dispatch.no_personal');
  assert.equal(ja.reason, '派遣社員は個人情報を取り扱えません。');
  assert.equal(ja.requestId, null, 'a known denial needs no support id');
  assert.equal(describeError(e, 'en').reason, 'Dispatch workers cannot handle personal data.');
});

test('validation and grant errors name their fields', () => {
  const v = describeError(new ApiError(400, 'request.invalid', 'Invalid', 'r', [{ path: '/newPassword', rule: 'minLength' }]), 'ja');
  assert.deepEqual(v.fields, ['newPassword']);
  const g = describeError(new ApiError(403, 'grant.dispatch_worker', 'x', 'r', { fields: ['person_name', 'email'] }), 'en');
  assert.equal(g.key, 'errors.grant.dispatch_worker');
  assert.deepEqual(g.fields, ['person_name', 'email']);
});

test('unknown and server errors fall back by status and keep the request id', () => {
  const s = describeError(new ApiError(500, 'internal', 'Something went wrong', 'req-9'), 'ja');
  assert.equal(s.key, 'errors.internal');
  assert.equal(s.requestId, 'req-9');
  assert.equal(describeError(new ApiError(418, 'teapot', 'x', 'req-2'), 'ja').key, 'errors.unexpected');
  assert.equal(describeError(new ApiError(503, 'somewhere.else', 'x', 'req-3'), 'ja').key, 'errors.internal');
  assert.equal(describeError(new Error('boom'), 'ja').key, 'errors.unexpected');
  assert.equal(describeError(new ApiError(0, 'network', 'offline'), 'ja').key, 'errors.network');
});

test('locked accounts say when to try again', () => {
  assert.equal(describeError(new ApiError(429, 'auth.locked', 'x', 'r', { retryAfterSeconds: 120 }), 'ja').retryAfterSeconds, 120);
});

test('revoked or missing sessions end the session; other 401s and 403s do not', () => {
  assert.equal(endsSession(new ApiError(401, 'auth.session_revoked', 'x')), true);
  assert.equal(endsSession(new ApiError(401, 'auth.required', 'x')), true);
  assert.equal(endsSession(new ApiError(401, 'auth.invalid_credentials', 'x')), false);
  assert.equal(endsSession(new ApiError(401, 'auth.mfa_invalid', 'x')), false);
  assert.equal(endsSession(new ApiError(403, 'policy.denied', 'x')), false);
});
