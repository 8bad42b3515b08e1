import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '@node-rs/argon2';
import { hashPassword, validatePasswordStrength, verifyPassword } from './password.ts';

void test('hash verifies the right password and rejects a wrong one', async () => {
  const h = await hashPassword('correct horse battery staple');
  assert.equal(await verifyPassword(h, 'correct horse battery staple'), true);
  assert.equal(await verifyPassword(h, 'correct horse battery stapl'), false);
  assert.equal(await verifyPassword(h, ''), false);
});

void test('hash is argon2id at OWASP parameters, salted', async () => {
  const h = await hashPassword('パスワードは長いほうがよい');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  const opts = parseOptions(h);
  assert.equal(opts.memoryCost, 19456);
  assert.equal(opts.timeCost, 2);
  assert.equal(opts.parallelism, 1);
  assert.notEqual(await hashPassword('パスワードは長いほうがよい'), h);
  assert.ok(!h.includes('パスワード'));
});

void test('verifyPassword fails closed on a malformed stored hash', async () => {
  assert.equal(await verifyPassword('not-a-hash', 'whatever'), false);
  assert.equal(await verifyPassword('', 'whatever'), false);
});

void test('validatePasswordStrength counts code points: min 12, max 256', () => {
  assert.equal(validatePasswordStrength('a'.repeat(11)), 'password.too_short');
  assert.equal(validatePasswordStrength('a'.repeat(12)), null);
  assert.equal(validatePasswordStrength('a'.repeat(256)), null);
  assert.equal(validatePasswordStrength('a'.repeat(257)), 'password.too_long');
  // 11 astral code points are 22 UTF-16 units: still too short.
  assert.equal(validatePasswordStrength('𠮷'.repeat(11)), 'password.too_short');
  assert.equal(validatePasswordStrength('𠮷'.repeat(12)), null);
  assert.equal(validatePasswordStrength('𠮷'.repeat(200)), null);
  assert.equal(validatePasswordStrength(''), 'password.too_short');
});
