/**
 * Check digits and issuer ranges. Every function reads digit VALUES (0–9) from a small typed array
 * filled by the scanner (so ASCII and full-width digits are the same thing here and no substring
 * is allocated), `from` the first digit, `n` digits long.
 */

/**
 * 個人番号 (My Number): 12 digits, the last one the check digit. The formula of 行政手続における
 * 特定の個人を識別するための番号の利用等に関する法律施行令 第八条:
 *
 *   P_n: the n-th of the first 11 digits counted from the right (n = 1..11)
 *   Q_n = n + 1 for 1 ≤ n ≤ 6, n − 5 for 7 ≤ n ≤ 11
 *   r = Σ P_n × Q_n mod 11;  check = 0 when r ≤ 1, else 11 − r
 */
export function myNumberCheckDigit(d: ArrayLike<number>, from = 0): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = d[from + 11 - n]!;
    sum += p * (n <= 6 ? n + 1 : n - 5);
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

export function isValidMyNumber(d: ArrayLike<number>, from = 0): boolean {
  return myNumberCheckDigit(d, from) === d[from + 11];
}

/**
 * 法人番号 (corporate number): 13 digits, the check digit FIRST. National Tax Agency formula
 * (法人番号の指定等に関する省令 第二条), the same as vault.corporate-number.ts:
 *   base digits P_n numbered n = 1..12 from the right, Q_n = 1 (odd n) or 2 (even n),
 *   check = 9 − (Σ P_n × Q_n mod 9)
 */
export function corporateNumberCheckDigit(d: ArrayLike<number>, from = 0): number {
  let sum = 0;
  // n odd (weight 1) and n + 1 (weight 2) per step.
  for (let n = 1; n <= 12; n += 2) sum += d[from + 13 - n]! + 2 * d[from + 12 - n]!;
  return 9 - (sum % 9);
}

export function isValidCorporateNumber(d: ArrayLike<number>, from = 0): boolean {
  return corporateNumberCheckDigit(d, from) === d[from];
}

/** Luhn (ISO/IEC 7812-1) over n digits, the last one the check digit. */
export function luhnValid(d: ArrayLike<number>, from: number, n: number): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = from + n - 1; i >= from; i--) {
    let v = d[i]!;
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

function prefix(d: ArrayLike<number>, from: number, k: number): number {
  let v = 0;
  for (let i = 0; i < k; i++) v = v * 10 + d[from + i]!;
  return v;
}

export type CardIssuer = 'visa' | 'mastercard' | 'amex' | 'jcb' | 'diners' | 'discover' | 'unionpay';

/**
 * The issuer whose IIN range and length the number fits, or null. Ranges: Visa 4 (13, 16, 19
 * digits); Mastercard 51–55 and 2221–2720 (16); American Express 34, 37 (15); JCB 3528–3589
 * (16–19); Diners Club 300–305, 36, 38–39 (14–19); Discover 6011, 644–649, 65 (16–19);
 * UnionPay 62 (16–19).
 */
export function cardIssuer(d: ArrayLike<number>, from: number, n: number): CardIssuer | null {
  const p1 = d[from]!;
  const p2 = prefix(d, from, 2);
  const p3 = prefix(d, from, 3);
  const p4 = prefix(d, from, 4);
  if (p1 === 4) return n === 13 || n === 16 || n === 19 ? 'visa' : null;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16 ? 'mastercard' : null;
  if (p2 === 34 || p2 === 37) return n === 15 ? 'amex' : null;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19 ? 'jcb' : null;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19 ? 'diners' : null;
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) return n >= 16 && n <= 19 ? 'discover' : null;
  if (p2 === 62) return n >= 16 && n <= 19 ? 'unionpay' : null;
  return null;
}

/**
 * 運転免許証番号: 12 digits — issuing public-safety commission (2), year of first licence (2),
 * serial (6), check digit (1), re-issue count (1). The check digit is NOT official (it is a
 * widely reported modulus-11 with weights 5,4,3,2,7,6,5,4,3,2): callers only use it to raise
 * confidence, never to reject a number.
 */
export function driversLicenseCheckLooksValid(d: ArrayLike<number>, from = 0): boolean {
  const w = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += d[from + i]! * w[i]!;
  const r = sum % 11;
  return (r <= 1 ? 0 : 11 - r) === d[from + 10];
}

/** Digits of an ASCII string as values (tests and callers outside the scanner). */
export function digitsOf(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39) out.push(c - 0x30);
    else if (c >= 0xff10 && c <= 0xff19) out.push(c - 0xff10);
  }
  return out;
}
