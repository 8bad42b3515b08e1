/**
 * 法人番号 (corporate number): 13 ASCII digits, the check digit FIRST, then the 12-digit base
 * (for companies, the 会社法人等番号 of the commercial registry). The formula is the one the
 * National Tax Agency publishes (法人番号の指定等に関する省令 第2条):
 *
 *   with the base digits P_n numbered n = 1..12 from the rightmost, Q_n = 1 for odd n, 2 for even n,
 *   check = 9 − (Σ P_n × Q_n mod 9)
 *
 * The check digit is therefore always 1–9, never 0. Because the sum is taken mod 9, replacing a
 * base digit 0 by 9 (or 9 by 0) changes the sum by 9 or 18 and goes unnoticed: that is a property
 * of the official scheme, not of this code, so callers must not treat a valid check digit as proof
 * that the number was typed correctly.
 */

const BASE_RE = /^[0-9]{12}$/;
const NUMBER_RE = /^[0-9]{13}$/;

export function corporateNumberCheckDigit(base12: string): number {
  if (!BASE_RE.test(base12)) {
    // The value itself stays out of the message: it may come from an import row.
    throw new RangeError('corporateNumberCheckDigit expects exactly 12 ASCII digits');
  }
  let sum = 0;
  for (let n = 1; n <= 12; n++) {
    // Position n from the right is index 12 - n from the left.
    const digit = base12.charCodeAt(12 - n) - 48;
    sum += digit * (n % 2 === 1 ? 1 : 2);
  }
  return 9 - (sum % 9);
}

export function isValidCorporateNumber(s: string): boolean {
  if (!NUMBER_RE.test(s)) return false;
  return s.charCodeAt(0) - 48 === corporateNumberCheckDigit(s.slice(1));
}
