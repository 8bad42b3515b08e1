import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { corporateNumberCheckDigit, isValidCorporateNumber } from './vault.corporate-number.ts';

// 国税庁 (National Tax Agency) — its own, published corporate number.
const NTA = '7000012050002';

test('the National Tax Agency number is valid and its check digit is 7', () => {
  assert.equal(corporateNumberCheckDigit(NTA.slice(1)), 7);
  assert.equal(isValidCorporateNumber(NTA), true);
});

test('every other check digit in front of the NTA base is rejected', () => {
  for (let d = 0; d <= 9; d++) {
    if (d === 7) continue;
    assert.equal(isValidCorporateNumber(`${d}${NTA.slice(1)}`), false, `check digit ${d}`);
  }
});

/**
 * Every single-digit substitution is caught except 0↔9 in a base digit: the official scheme sums
 * mod 9, so a change of ±9 (weight 1) or ±18 (weight 2) leaves the check digit unchanged. The
 * test pins that down exactly instead of pretending the scheme is stronger than it is.
 */
function assertSubstitutionsCaught(valid: string): void {
  assert.equal(isValidCorporateNumber(valid), true);
  for (let pos = 0; pos < 13; pos++) {
    for (let d = 0; d <= 9; d++) {
      const orig = valid.charCodeAt(pos) - 48;
      if (d === orig) continue;
      const changed = valid.slice(0, pos) + String(d) + valid.slice(pos + 1);
      const undetectable = pos > 0 && Math.abs(d - orig) === 9;
      assert.equal(isValidCorporateNumber(changed), undetectable, `position ${pos} digit ${orig}→${d}`);
    }
  }
}

test('single-digit changes of the NTA number are rejected (except the mod-9 blind spot 0↔9)', () => {
  assertSubstitutionsCaught(NTA);
});

test('single-digit changes are rejected for arbitrary valid numbers (except 0↔9 in the base)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{12}$/), (base) => {
      assertSubstitutionsCaught(`${corporateNumberCheckDigit(base)}${base}`);
    }),
    { numRuns: 300 },
  );
});

test('check digit is always 1–9', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{12}$/), (base) => {
      const c = corporateNumberCheckDigit(base);
      assert.ok(c >= 1 && c <= 9);
    }),
  );
});

test('malformed input', () => {
  for (const s of ['', '700001205000', '70000120500021', '７000012050002', '7000012O50002', ' 7000012050002', '7000012050002\n']) {
    assert.equal(isValidCorporateNumber(s), false, JSON.stringify(s));
  }
  assert.throws(() => corporateNumberCheckDigit('12345'), RangeError);
  assert.throws(() => corporateNumberCheckDigit('00001205000a'), RangeError);
});
