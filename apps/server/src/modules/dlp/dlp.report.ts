/**
 * Turning the scanner's typed-array findings into DlpFinding objects, with a masked excerpt: a few
 * characters of context on each side (digits in it masked too, so a neighbouring number does not
 * leak) around the value masked per kind. The value is never shown whole: numbers keep at most
 * their last 4 digits (a My Number none), phones their area code and last 4, e-mails their first
 * letter and domain, addresses their prefecture and municipality (the console's masking).
 */
import { DLP_KINDS, type DlpFinding } from '@mamori/contracts';
import type { FindingBuffer } from './dlp.scanner.ts';
import {
  K_ADDRESS, K_BANK, K_CARD, K_CORPORATE, K_EMAIL, K_LICENSE, K_MY_NUMBER, K_PASSPORT, K_PHONE, K_POSTAL,
} from './dlp.scanner.ts';

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
function take(): string {
  let s = '';
  for (let i = 0; i < len; i += 2048) s += String.fromCharCode.apply(null, BUF.subarray(i, Math.min(len, i + 2048)) as unknown as number[]);
  len = 0;
  return s;
}

/** Digits of text[s, e) masked except the last `keep` (at most half of them). */
function putDigits(text: string, s: number, e: number, keep: number): void {
  let digits = 0;
  for (let i = s; i < e; i++) if (isDigit(text.charCodeAt(i))) digits++;
  keep = Math.min(keep, Math.floor(digits / 2));
  let seen = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) put(seen++ >= digits - keep ? c : MC);
    else put(c);
  }
}

/**
 * Phone: the area or carrier code (the first group, or the first 3 digits when unseparated) and
 * the last 4 digits, but never more than two thirds of the digits.
 */
function putPhone(text: string, s: number, e: number): void {
  let digits = 0;
  let first = -1;
  for (let i = s; i < e; i++) {
    if (isDigit(text.charCodeAt(i))) digits++;
    else if (first < 0 && digits > 0) first = digits;
  }
  let head = first > 0 ? Math.min(first, 4) : 3;
  let tail = 4;
  const visible = digits - Math.ceil(digits / 3);
  while (head + tail > visible && head > 1) head--;
  while (head + tail > visible && tail > 0) tail--;
  let seen = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      put(seen < head || seen >= digits - tail ? c : MC);
      seen++;
    } else put(c);
  }
}

/** E-mail: the first character of the local part, ＊＊＊, the domain. */
function putEmail(text: string, s: number, e: number): void {
  let at = -1;
  for (let i = e - 1; i > s; i--) {
    const c = text.charCodeAt(i);
    if (c === 0x40 || c === 0xff20) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    putN(MC, 4);
    return;
  }
  put(text.charCodeAt(s));
  putN(MC, 3);
  for (let i = at; i < e; i++) put(text.charCodeAt(i));
}

/** Postal code: the first 3 digits. */
function putPostal(text: string, s: number, e: number): void {
  let seen = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    put(isDigit(c) ? (seen++ < 3 ? c : MC) : c);
  }
}

/** Address: the prefecture and the municipality (as the console masks), then ＊＊＊. */
function putAddress(text: string, s: number, e: number): void {
  let p = -1;
  if (text.startsWith('京都府', s)) p = s + 3;
  else {
    for (let i = s + 1; i < Math.min(s + 4, e); i++) {
      const c = text.charCodeAt(i);
      if (c === 0x90fd || c === 0x9053 || c === 0x5e9c || c === 0x770c) {
        p = i + 1;
        break;
      }
    }
  }
  let m = p;
  if (p > 0) {
    for (let i = p + 1; i < Math.min(e, p + 12); i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5e02 || c === 0x533a || c === 0x753a || c === 0x6751) {
        m = i + 1;
        break;
      }
    }
    for (let i = s; i < m; i++) put(text.charCodeAt(i));
  }
  putN(MC, 3);
}

function putMasked(kind: number, text: string, s: number, e: number): void {
  switch (kind) {
    case K_MY_NUMBER:
      return putDigits(text, s, e, 0);
    case K_CORPORATE:
    case K_CARD:
      return putDigits(text, s, e, 4);
    case K_PHONE:
      return putPhone(text, s, e);
    case K_EMAIL:
      return putEmail(text, s, e);
    case K_POSTAL:
      return putPostal(text, s, e);
    case K_ADDRESS:
      return putAddress(text, s, e);
    case K_BANK:
    case K_PASSPORT:
    case K_LICENSE:
      return putDigits(text, s, e, 2);
    default:
      putN(MC, 4);
  }
}

/** The masked form of a value of this kind (kind code of dlp.scanner.ts). */
export function maskFor(kind: number, value: string): string {
  len = 0;
  putMasked(kind, value, 0, value.length);
  return take();
}

/** Masks every digit except the last `keep` (at most half of them). */
export function maskDigits(value: string, keep: number): string {
  len = 0;
  putDigits(value, 0, value.length, keep);
  return take();
}

function isBreak(c: number, stop: number): boolean {
  return c === 0x0a || c === 0x0d || c === stop;
}

/** Up to CONTEXT characters each side (same line, same cell; digits shown as *) around the masked value. */
export function excerptOf(text: string, kind: number, start: number, length: number, delimiter = -1): string {
  len = 0;
  let from = start;
  while (from > 0 && start - from < CONTEXT && !isBreak(text.charCodeAt(from - 1), delimiter)) from--;
  for (let i = from; i < start; i++) {
    const c = text.charCodeAt(i);
    put(isDigit(c) ? STAR : c === 0x09 ? 0x20 : c);
  }
  const end = start + length;
  putMasked(kind, text, start, end);
  const to = Math.min(text.length, end + CONTEXT);
  for (let i = end; i < to; i++) {
    const c = text.charCodeAt(i);
    if (isBreak(c, delimiter)) break;
    put(isDigit(c) ? STAR : c === 0x09 ? 0x20 : c);
  }
  return take();
}

/** The findings of one scanned part as DlpFinding objects (in scan order). */
export function materialize(text: string, buf: FindingBuffer, file: string, delimiter = -1, out: DlpFinding[] = []): DlpFinding[] {
  const d = buf.data;
  for (let k = 0; k < buf.count; k++) {
    const o = k * 6;
    const kind = d[o]!;
    out.push({
      kind: DLP_KINDS[kind]!,
      file,
      line: d[o + 4]!,
      column: d[o + 5]!,
      length: d[o + 2]!,
      confidence: d[o + 3]! / 100,
      excerpt: excerptOf(text, kind, d[o + 1]!, d[o + 2]!, delimiter),
    });
  }
  return out;
}
