/**
 * Display masking for personal fields shown without an unmask decision. Works on code points
 * (Array.from) so surrogate pairs are never split, and never throws: masking runs on every
 * response and bad data must not turn into a 500 that echoes the value.
 *
 * Each kind keeps just enough for a person to recognise the record (family name, area code and
 * last four digits, first letter of a mail address, prefecture and municipality) and nothing
 * when the value does not have the expected shape.
 */

export type MaskKind = 'name' | 'kana' | 'phone' | 'email' | 'postal_code' | 'address' | 'text' | 'number' | 'date';

const M = '＊'; // U+FF0A FULLWIDTH ASTERISK
/** Fixed-length placeholder: reveals neither content nor length. */
const OPAQUE = M.repeat(4);
const WS = /\s/u;
const DIGIT = /\p{Nd}/u;
// Characters kept as-is between digits of phone numbers and postal codes (ASCII and full-width
// forms, the various hyphens and the postal mark). Anything else (letters, notes) is masked.
const SEPARATORS = new Set([
  ' ', '\u3000', '-', '－', '‐', '‑', '–', '—', '−', 'ー', '(', ')', '（', '）', '+', '＋', '.', '．', '/', '／', '〒',
]);

export function mask(kind: MaskKind, value: string): string {
  if (value === '') return '';
  switch (kind) {
    case 'name':
    case 'kana':
      return maskName(value);
    case 'phone':
      return maskPhone(value);
    case 'email':
      return maskEmail(value);
    case 'postal_code':
      return maskPostalCode(value);
    case 'address':
      return maskAddress(value);
    case 'text':
    case 'number':
    case 'date':
      return OPAQUE;
  }
}

/**
 * Keep the family name (first whitespace-separated token) and the separator, mask every code
 * point after it. Without a separator keep only the first code point. A one-character name is
 * masked entirely, since keeping its first code point would show all of it.
 */
function maskName(value: string): string {
  const cps = Array.from(value.trim());
  if (cps.length === 0) return '';
  if (cps.length === 1) return M;
  const sep = cps.findIndex((c) => WS.test(c));
  const keep = sep === -1 ? 1 : sep + 1;
  return cps.slice(0, keep).join('') + M.repeat(cps.length - keep);
}

type Cp = { c: string; digit: boolean; group: number };

/** Split into code points, numbering digit runs (groups) separated by non-digits. */
function scanDigits(value: string): { cps: Cp[]; digits: number; firstGroupLength: number } {
  const cps: Cp[] = [];
  let group = -1;
  let prevDigit = false;
  let digits = 0;
  let firstGroupLength = 0;
  for (const c of value) {
    const digit = DIGIT.test(c);
    if (digit) {
      if (!prevDigit) group++;
      digits++;
      if (group === 0) firstGroupLength++;
    }
    prevDigit = digit;
    cps.push({ c, digit, group });
  }
  return { cps, digits, firstGroupLength };
}

/** Keep digits with index < head or >= total - tail; keep separators; mask everything else. */
function renderDigits(cps: readonly Cp[], digits: number, head: number, tail: number): string {
  let i = 0;
  let out = '';
  for (const { c, digit } of cps) {
    if (digit) {
      out += i < head || i >= digits - tail ? c : M;
      i++;
    } else {
      out += SEPARATORS.has(c) ? c : M;
    }
  }
  return out;
}

/**
 * Keep the first group (area / carrier code; the first 3 digits when unseparated) and the last
 * 4 digits. Short numbers give up tail digits first, then head digits, so that at least a quarter
 * of the digits (and at least one) are always masked.
 */
function maskPhone(value: string): string {
  const { cps, digits, firstGroupLength } = scanDigits(value);
  if (digits === 0) return OPAQUE;
  const separated = firstGroupLength < digits;
  let head = separated ? firstGroupLength : 3;
  let tail = 4;
  const minMasked = Math.max(1, Math.ceil(digits / 4));
  const excess = head + tail + minMasked - digits;
  if (excess > 0) {
    const fromTail = Math.min(tail, excess);
    tail -= fromTail;
    head = Math.max(0, head - (excess - fromTail));
  }
  return renderDigits(cps, digits, head, tail);
}

/** Keep the first 3 digits (the area part of a 7-digit code), mask the rest. */
function maskPostalCode(value: string): string {
  const { cps, digits } = scanDigits(value);
  if (digits === 0) return OPAQUE;
  return renderDigits(cps, digits, Math.min(3, Math.floor(digits / 2)), 0);
}

/**
 * First code point of the local part, then exactly three ＊ (hides the length), domain kept.
 * Anything not shaped local@domain is masked entirely.
 */
function maskEmail(value: string): string {
  const v = value.trim();
  const at = v.lastIndexOf('@');
  if (at <= 0 || at === v.length - 1) return OPAQUE;
  const first = Array.from(v.slice(0, at))[0] ?? '';
  return first + M.repeat(3) + v.slice(at);
}

const PREFECTURE_END = new Set(['都', '道', '府', '県']);
const MUNICIPALITY_END = new Set(['市', '区', '町', '村']);
// Longest municipality we look for, counted from its first character (郡 + town names such as
// 西臼杵郡五ヶ瀬町 fit). Keeps a marker deep inside the street part from revealing it.
const MUNICIPALITY_MAX = 12;

/**
 * Keep the prefecture and the municipality, replace the rest with ＊＊＊. The municipality must be
 * at least two code points so names that begin with a marker (市川市, 町田市) are kept whole.
 */
function maskAddress(value: string): string {
  const cps = Array.from(value.trim());
  let pos = 0;
  if (cps.slice(0, 3).join('') === '京都府') {
    // 京都府 is the one prefecture whose name contains an earlier marker (都).
    pos = 3;
  } else {
    const end = cps.slice(0, 4).findIndex((c) => PREFECTURE_END.has(c));
    if (end !== -1) pos = end + 1;
  }
  let start = pos;
  while (start < cps.length && WS.test(cps[start] ?? '')) start++;
  const limit = Math.min(cps.length, start + MUNICIPALITY_MAX);
  for (let i = start + 1; i < limit; i++) {
    if (MUNICIPALITY_END.has(cps[i] ?? '')) {
      pos = i + 1;
      break;
    }
  }
  return cps.slice(0, pos).join('') + M.repeat(3);
}
