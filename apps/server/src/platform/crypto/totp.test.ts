import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import { currentTotp, generateTotpSecret, totpUri, verifyTotp } from './totp.ts';

const T0 = new Date('2024-04-01T09:00:15.000Z'); // mid-step
const STEP = Math.floor(T0.getTime() / 30_000);
const at = (deltaSteps: number): Date => new Date(T0.getTime() + deltaSteps * 30_000);

void test('RFC 6238 SHA-1 vector: T=59 s gives 94287082 (8 digits)', () => {
  const secret = Secret.fromLatin1('12345678901234567890');
  assert.equal(TOTP.generate({ secret, algorithm: 'SHA1', digits: 8, period: 30, timestamp: 59_000 }), '94287082');
  // Our 6-digit codes are the same HOTP value truncated to 6 digits.
  assert.equal(currentTotp(secret.base32, new Date(59_000)), '287082');
});

void test('generateTotpSecret: base32 of 20 random bytes', () => {
  const s = generateTotpSecret();
  assert.match(s, /^[A-Z2-7]{32}$/);
  assert.equal(Secret.fromBase32(s).bytes.length, 20);
  assert.notEqual(generateTotpSecret(), s);
});

void test('totpUri carries issuer, label, SHA1, 6 digits, 30 s', () => {
  const s = generateTotpSecret();
  const uri = new URL(totpUri(s, 'taro@example.jp'));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), s);
  assert.equal(uri.searchParams.get('issuer'), 'Mamori');
  assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
  assert.equal(uri.searchParams.get('digits'), '6');
  assert.equal(uri.searchParams.get('period'), '30');
  assert.match(decodeURIComponent(uri.pathname), /Mamori:taro@example\.jp$/);
  assert.equal(new URL(totpUri(s, 'x', 'Other')).searchParams.get('issuer'), 'Other');
});

void test('current code is accepted and reports its step', () => {
  const s = generateTotpSecret();
  assert.deepEqual(verifyTotp(s, currentTotp(s, T0), T0, null), { ok: true, step: STEP });
});

void test('adjacent steps are accepted, two steps away refused', () => {
  const s = generateTotpSecret();
  assert.deepEqual(verifyTotp(s, currentTotp(s, at(-1)), T0, null), { ok: true, step: STEP - 1 });
  assert.deepEqual(verifyTotp(s, currentTotp(s, at(1)), T0, null), { ok: true, step: STEP + 1 });
  for (const d of [-2, 2]) {
    const code = currentTotp(s, at(d));
    // Skip the (1e-6) chance that this code coincides with one inside the window.
    if ([-1, 0, 1].some((w) => currentTotp(s, at(w)) === code)) continue;
    assert.deepEqual(verifyTotp(s, code, T0, null), { ok: false }, `delta ${d}`);
  }
});

void test('replay: a step at or before lastUsedStep is refused', () => {
  const s = generateTotpSecret();
  const code = currentTotp(s, T0);
  const first = verifyTotp(s, code, T0, null);
  assert.ok(first.ok);
  assert.deepEqual(verifyTotp(s, code, T0, first.step), { ok: false });
  // Still refused a step later, while the code is inside the drift window.
  assert.deepEqual(verifyTotp(s, code, at(1), first.step), { ok: false });
  // The previous step's code is refused once a later step was used.
  assert.deepEqual(verifyTotp(s, currentTotp(s, at(-1)), T0, STEP), { ok: false });
  // The next step's code is still fine.
  assert.deepEqual(verifyTotp(s, currentTotp(s, at(1)), at(1), STEP), { ok: true, step: STEP + 1 });
});

void test('code format: exactly 6 ASCII digits after NFKC; full-width digits accepted', () => {
  const s = generateTotpSecret();
  const code = currentTotp(s, T0);
  const fullWidth = code.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
  assert.deepEqual(verifyTotp(s, fullWidth, T0, null), { ok: true, step: STEP });
  for (const bad of [code.slice(0, 5), code + '0', ` ${code}`, `${code.slice(0, 3)} ${code.slice(3)}`, '', 'abcdef', '١٢٣٤٥٦']) {
    assert.deepEqual(verifyTotp(s, bad, T0, null), { ok: false }, JSON.stringify(bad));
  }
});

void test('wrong secret is refused', () => {
  const code = currentTotp(generateTotpSecret(), T0);
  const other = generateTotpSecret();
  if ([-1, 0, 1].some((w) => currentTotp(other, at(w)) === code)) return;
  assert.deepEqual(verifyTotp(other, code, T0, null), { ok: false });
});

void test('malformed secret throws a stable code', () => {
  assert.throws(() => verifyTotp('not base32 !!!', '123456', T0, null), { message: /^crypto\.bad_totp_secret/ });
});
