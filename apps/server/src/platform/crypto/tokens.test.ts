import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { constantTimeEqual, hashToken, newOpaqueToken } from './tokens.ts';

void test('newOpaqueToken: prefix + _ + base64url of 32 random bytes', () => {
  const t = newOpaqueToken('sess');
  assert.match(t, /^sess_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(t.slice('sess_'.length), 'base64url').length, 32);
  const many = new Set(Array.from({ length: 1000 }, () => newOpaqueToken('api')));
  assert.equal(many.size, 1000);
});

void test('newOpaqueToken refuses prefixes that would make tokens ambiguous or URL-unsafe', () => {
  for (const bad of ['', 'a_b', 'a b', 'a/b', 'x'.repeat(33)]) {
    assert.throws(() => newOpaqueToken(bad), { message: /^crypto\.bad_token_prefix/ });
  }
});

void test('hashToken is SHA-256 of the UTF-8 token', () => {
  const t = newOpaqueToken('sess');
  const h = hashToken(t);
  assert.equal(h.length, 32);
  assert.deepEqual(h, createHash('sha256').update(t).digest());
  assert.notDeepEqual(hashToken(t + 'x'), h);
});

void test('constantTimeEqual', () => {
  const a = hashToken('a');
  assert.equal(constantTimeEqual(a, Buffer.from(a)), true);
  assert.equal(constantTimeEqual(a, hashToken('b')), false);
  assert.equal(constantTimeEqual(a, a.subarray(0, 31)), false);
  assert.equal(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
});
