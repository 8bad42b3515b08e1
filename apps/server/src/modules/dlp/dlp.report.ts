/**
 * Turning the scanner's typed-array findings into DlpFinding objects, with a masked excerpt: a few
 * characters of context on each side (digits in it masked too, so a neighbouring number does not
 * leak) around the value masked per kind. The value is never shown whole: numbers keep at most
 * their last 4 digits (a My Number none), phones their area code and last 4, e-mails their first
 * letter and domain, addresses their prefecture and municipality (the console's masking).
 */
import { DLP_KINDS, type DlpFinding, type DlpKind } from '@mamori/contracts';
import { mask as vaultMask } from '../vault/vault.masking.ts';
import type { FindingBuffer } from './dlp.scanner.ts';
import {
  K_ADDRESS, K_BANK, K_CARD, K_CORPORATE, K_EMAIL, K_LICENSE, K_MY_NUMBER, K_PASSPORT, K_PHONE, K_POSTAL,
} from './dlp.scanner.ts';

const M = '＊';
const CONTEXT = 6;

function isDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0xff10 && c <= 0xff19);
}

/** Masks every digit except the last `keep` (and every letter when lettersToo). */
export function maskDigits(value: string, keep: number, lettersToo = false): string {
  let digits = 0;
  for (let i = 0; i < value.length; i++) if (isDigit(value.charCodeAt(i))) digits++;
  // Always mask at least half of the digits.
  keep = Math.min(keep, Math.floor(digits / 2));
  let out = '';
  let seen = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isDigit(c)) {
      out += seen++ >= digits - keep ? value[i] : M;
    } else if (lettersToo && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) out += M;
    else out += value[i];
  }
  return out;
}

export function maskFor(kind: number, value: string): string {
  switch (kind) {
    case K_MY_NUMBER:
      return maskDigits(value, 0);
    case K_CORPORATE:
    case K_CARD:
      return maskDigits(value, 4);
    case K_PHONE:
      return vaultMask('phone', value);
    case K_EMAIL:
      return vaultMask('email', value);
    case K_POSTAL:
      return vaultMask('postal_code', value);
    case K_ADDRESS:
      return vaultMask('address', value);
    case K_BANK:
    case K_PASSPORT:
    case K_LICENSE:
      return maskDigits(value, 2);
    default:
      return M.repeat(4);
  }
}

/** Context characters next to a value: stops at line breaks (and the CSV delimiter), digits masked. */
function around(text: string, from: number, to: number, stop: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === stop) return out;
    out += isDigit(c) ? '*' : c === 0x09 ? ' ' : text[i];
  }
  return out;
}

function before(text: string, start: number, stop: number): string {
  let from = start;
  while (from > 0 && start - from < CONTEXT) {
    const c = text.charCodeAt(from - 1);
    if (c === 0x0a || c === 0x0d || c === stop) break;
    from--;
  }
  return around(text, from, start, stop);
}

export function excerptOf(text: string, kind: number, start: number, length: number, delimiter = -1, maskKind?: string): string {
  const value = text.slice(start, start + length);
  const masked = maskKind ? vaultMask(maskKind as Parameters<typeof vaultMask>[0], value) : maskFor(kind, value);
  const end = start + length;
  return `${before(text, start, delimiter)}${masked}${around(text, end, Math.min(text.length, end + CONTEXT), delimiter)}`;
}

/** The findings of one scanned part as DlpFinding objects (in scan order). */
export function materialize(text: string, buf: FindingBuffer, file: string, delimiter = -1, out: DlpFinding[] = []): DlpFinding[] {
  for (let k = 0; k < buf.count; k++) {
    const kind = buf.kinds[k]!;
    out.push({
      kind: DLP_KINDS[kind] as DlpKind,
      file,
      line: buf.lines[k]!,
      column: buf.columns[k]!,
      length: buf.lengths[k]!,
      confidence: buf.confidence[k]! / 100,
      excerpt: excerptOf(text, kind, buf.starts[k]!, buf.lengths[k]!, delimiter),
    });
  }
  return out;
}
