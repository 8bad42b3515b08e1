/**
 * Turning the scanner's typed-array findings into DlpFinding objects, with a masked excerpt: a few
 * characters of context on each side (digits in it masked too, so a neighbouring number does not
 * leak) around the value masked per kind. The value is never shown whole: numbers keep at most
 * their last 4 digits (a My Number none), phones their area code and last 4, e-mails their first
 * letter and domain, addresses their prefecture and municipality (the console's masking).
 *
 * The scanner's offsets are byte offsets into UTF-8; a DlpFinding's column and length are in
 * UTF-16 units (characters as JavaScript counts them), computed here, only for the findings shown.
 */
import { DLP_KINDS, type DlpFinding } from '@mamori/contracts';
import { SLOTS, type FindingBuffer } from './dlp.scanner.ts';
import {
  K_ADDRESS, K_BANK, K_CARD, K_CORPORATE, K_EMAIL, K_LICENSE, K_MY_NUMBER, K_PASSPORT, K_PHONE, K_POSTAL,
} from './dlp.scanner.ts';
import { CHAR_LEN, cpAt, units, utf8 } from './dlp.utf8.ts';

const MC = 0xff0a; // ＊
const STAR = 0x2a;
const CONTEXT = 6;

function isDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0xff10 && c <= 0xff19);
}

// Excerpts are written as UTF-16 code units into one scratch buffer and turned into a string once:
// building them from one-character strings allocated a string per Japanese character.
const BUF = new Uint16Array(4096);
let len = 0;
function put(c: number): void {
  if (len < BUF.length) BUF[len++] = c;
}
function putN(c: number, n: number): void {
  for (let i = 0; i < n; i++) put(c);
}
/** The character at p as UTF-16 (a 4-byte character as its surrogate pair). */
function putChar(t: Uint8Array, p: number): void {
  const b = t[p]!;
  if (b < 0xf0) return put(cpAt(t, p));
  const cp = ((b & 0x07) << 18) | ((t[p + 1]! & 0x3f) << 12) | ((t[p + 2]! & 0x3f) << 6) | (t[p + 3]! & 0x3f);
  put(0xd800 + ((cp - 0x10000) >> 10));
  put(0xdc00 + ((cp - 0x10000) & 0x3ff));
}
function take(): string {
  let s = '';
  for (let i = 0; i < len; i += 2048) s += String.fromCharCode.apply(null, BUF.subarray(i, Math.min(len, i + 2048)) as unknown as number[]);
  len = 0;
  return s;
}
function next(t: Uint8Array, p: number): number {
  return p + CHAR_LEN[t[p]!]!;
}

/** Digits of t[s, e) masked except the last `keep` (at most half of them). */
function putDigits(t: Uint8Array, s: number, e: number, keep: number): void {
  let digits = 0;
  for (let i = s; i < e; i = next(t, i)) if (isDigit(cpAt(t, i))) digits++;
  keep = Math.min(keep, Math.floor(digits / 2));
  let seen = 0;
  for (let i = s; i < e; i = next(t, i)) {
    if (isDigit(cpAt(t, i))) {
      if (seen++ >= digits - keep) putChar(t, i);
      else put(MC);
    } else putChar(t, i);
  }
}

/**
 * Phone: the area or carrier code (the first group, or the first 3 digits when unseparated) and
 * the last 4 digits, but never more than two thirds of the digits.
 */
function putPhone(t: Uint8Array, s: number, e: number): void {
  let digits = 0;
  let first = -1;
  for (let i = s; i < e; i = next(t, i)) {
    if (isDigit(cpAt(t, i))) digits++;
    else if (first < 0 && digits > 0) first = digits;
  }
  let head = first > 0 ? Math.min(first, 4) : 3;
  let tail = 4;
  const visible = digits - Math.ceil(digits / 3);
  while (head + tail > visible && head > 1) head--;
  while (head + tail > visible && tail > 0) tail--;
  let seen = 0;
  for (let i = s; i < e; i = next(t, i)) {
    if (isDigit(cpAt(t, i))) {
      if (seen < head || seen >= digits - tail) putChar(t, i);
      else put(MC);
      seen++;
    } else putChar(t, i);
  }
}

/** E-mail: the first character of the local part, ＊＊＊, the domain. */
function putEmail(t: Uint8Array, s: number, e: number): void {
  let at = -1;
  for (let i = e - 1; i > s; i--) {
    if (t[i] === 0x40 || (t[i] === 0xef && t[i + 1] === 0xbc && t[i + 2] === 0xa0)) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    putN(MC, 4);
    return;
  }
  putChar(t, s);
  putN(MC, 3);
  for (let i = at; i < e; i = next(t, i)) putChar(t, i);
}

/** Postal code: the first 3 digits. */
function putPostal(t: Uint8Array, s: number, e: number): void {
  let seen = 0;
  for (let i = s; i < e; i = next(t, i)) {
    if (isDigit(cpAt(t, i)) && seen++ >= 3) put(MC);
    else putChar(t, i);
  }
}

const KYOTO = utf8('京都府');

/** Address: the prefecture and the municipality (as the console masks), then ＊＊＊. */
// (m stays p when no municipality follows: then only the prefecture, or nothing, is shown.)
function putAddress(t: Uint8Array, s: number, e: number): void {
  let p = -1;
  let kyoto = s + KYOTO.length <= e;
  for (let k = 0; kyoto && k < KYOTO.length; k++) if (t[s + k] !== KYOTO[k]) kyoto = false;
  if (kyoto) p = s + KYOTO.length;
  else {
    let i = next(t, s);
    for (let n = 1; n < 4 && i < e; n++, i = next(t, i)) {
      const c = cpAt(t, i);
      if (c === 0x90fd || c === 0x9053 || c === 0x5e9c || c === 0x770c) {
        p = next(t, i);
        break;
      }
    }
  }
  // A designated city written without its prefecture (大阪市北区…): the city is shown.
  if (p < 0) p = s;
  let m = p;
  if (p >= 0) {
    let i = p < e ? next(t, p) : p;
    for (let n = 1; n < 12 && i < e; n++, i = next(t, i)) {
      const c = cpAt(t, i);
      if (c === 0x5e02 || c === 0x533a || c === 0x753a || c === 0x6751) {
        m = next(t, i);
        break;
      }
    }
    for (let i2 = s; i2 < m; i2 = next(t, i2)) putChar(t, i2);
  }
  putN(MC, 3);
}

function putMasked(kind: number, t: Uint8Array, s: number, e: number): void {
  switch (kind) {
    case K_MY_NUMBER:
      return putDigits(t, s, e, 0);
    case K_CORPORATE:
    case K_CARD:
      return putDigits(t, s, e, 4);
    case K_PHONE:
      return putPhone(t, s, e);
    case K_EMAIL:
      return putEmail(t, s, e);
    case K_POSTAL:
      return putPostal(t, s, e);
    case K_ADDRESS:
      return putAddress(t, s, e);
    case K_BANK:
    case K_PASSPORT:
    case K_LICENSE:
      return putDigits(t, s, e, 2);
    default:
      putN(MC, 4);
  }
}

/** The masked form of a value of this kind (kind code of dlp.scanner.ts). */
export function maskFor(kind: number, value: string): string {
  const t = utf8(value);
  len = 0;
  putMasked(kind, t, 0, t.length);
  return take();
}

/** Masks every digit except the last `keep` (at most half of them). */
export function maskDigits(value: string, keep: number): string {
  const t = utf8(value);
  len = 0;
  putDigits(t, 0, t.length, keep);
  return take();
}

function isBreak(b: number, stop: number): boolean {
  return b === 0x0a || b === 0x0d || b === stop;
}

/** Context characters of an excerpt: digits as *, tabs as spaces. */
function putContext(t: Uint8Array, i: number): void {
  const c = cpAt(t, i);
  if (isDigit(c)) put(STAR);
  else if (c === 0x09) put(0x20);
  else putChar(t, i);
}

/**
 * Up to CONTEXT characters each side (same line, same cell; digits shown as *) around the masked
 * value t[start, start + length) (bytes; `from` is where the scanned text begins).
 */
export function excerptOf(t: Uint8Array, kind: number, start: number, length: number, delimiter = -1, from0 = 0, to0 = t.length): string {
  len = 0;
  let from = start;
  let n = 0;
  while (from > from0 && n < CONTEXT) {
    let q = from - 1;
    while (q > from0 && (t[q]! & 0xc0) === 0x80) q--;
    if (isBreak(t[q]!, delimiter)) break;
    n += t[q]! >= 0xf0 ? 2 : 1;
    if (n > CONTEXT) break;
    from = q;
  }
  for (let i = from; i < start; i = next(t, i)) putContext(t, i);
  const end = start + length;
  putMasked(kind, t, start, end);
  n = 0;
  for (let i = end; i < to0 && n < CONTEXT; i = next(t, i)) {
    if (isBreak(t[i]!, delimiter)) break;
    n += t[i]! >= 0xf0 ? 2 : 1;
    putContext(t, i);
  }
  return take();
}

/**
 * Columns of text findings in UTF-16 units from their line's start, counted incrementally: the
 * findings of a line come in order, so a long line is counted once, not once per finding.
 */
export class ColumnCounter {
  private lineStart = -1;
  private pos = 0;
  private n = 0;
  constructor(private readonly t: Uint8Array) {}
  column(lineStart: number, offset: number): number {
    if (lineStart !== this.lineStart || offset < this.pos) {
      this.lineStart = lineStart;
      this.pos = lineStart;
      this.n = 0;
    }
    this.n += units(this.t, this.pos, offset);
    this.pos = offset;
    return this.n + 1;
  }
}

/**
 * Findings [first, last) of one scanned part as DlpFinding objects (in scan order), appended to
 * out. `t` holds the bytes the buffer's offsets refer to.
 */
export function materialize(t: Uint8Array, buf: FindingBuffer, file: string, delimiter = -1, out: DlpFinding[] = [], first = 0, last = buf.count): DlpFinding[] {
  const d = buf.data;
  const cols = new ColumnCounter(t);
  for (let k = first; k < last; k++) {
    const o = k * SLOTS;
    const kind = d[o]!;
    const start = d[o + 1]!;
    const length = d[o + 2]!;
    const column = d[o + 5]! || cols.column(d[o + 6]!, start);
    out.push({
      kind: DLP_KINDS[kind]!,
      file,
      line: d[o + 4]!,
      column,
      length: units(t, start, start + length),
      confidence: d[o + 3]! / 100,
      excerpt: excerptOf(t, kind, start, length, delimiter),
    });
  }
  return out;
}
