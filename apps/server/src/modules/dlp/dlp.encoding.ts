/**
 * Text encodings of Japanese files: UTF-8 (with or without BOM), UTF-16 (BOM), Shift_JIS/CP932,
 * EUC-JP and ISO-2022-JP (JIS). Decoding is the WHATWG TextDecoder (Node's ICU): its shift_jis is
 * Windows-31J (CP932), its iso-2022-jp handles ESC $ B / ESC $ @ / ESC ( J.
 *
 * Detection, in order: a BOM; an ISO-2022-JP escape sequence (JIS is 7-bit: ESC $ B and friends
 * never appear in the other encodings' text); strict UTF-8 (multi-byte Shift_JIS/EUC-JP text
 * almost never is valid UTF-8); otherwise Shift_JIS against EUC-JP by counting, over the first
 * 64 KiB, byte pairs that are invalid in each and pairs that encode hiragana or katakana (the
 * commonest characters of Japanese text: lead 0x82/0x83 in Shift_JIS, 0xA4/0xA5 in EUC-JP).
 */
import { isUtf8 } from 'node:buffer';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'shift_jis' | 'euc-jp' | 'iso-2022-jp';

const SAMPLE = 64 * 1024;

function isIso2022Jp(b: Uint8Array): boolean {
  const n = Math.min(b.length, SAMPLE);
  let high = false;
  let esc = false;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c >= 0x80) high = true;
    else if (c === 0x1b && i + 2 < b.length) {
      const a = b[i + 1]!;
      const z = b[i + 2]!;
      if ((a === 0x24 && (z === 0x42 || z === 0x40)) || (a === 0x28 && (z === 0x4a || z === 0x49)) || (a === 0x24 && z === 0x28)) esc = true;
    }
  }
  return esc && !high;
}

/** Strict UTF-8 validation (node:buffer isUtf8: SIMD, no decoding; a fatal TextDecoder decoded everything at ~30 MB/s). */
function validUtf8(b: Uint8Array): boolean {
  return b.length === 0 || isUtf8(b);
}

/** Invalid pairs and kana pairs read as Shift_JIS. */
function sjisScore(b: Uint8Array): { bad: number; kana: number } {
  const n = Math.min(b.length, SAMPLE);
  let bad = 0;
  let kana = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c < 0x80 || (c >= 0xa1 && c <= 0xdf)) continue; // ASCII, half-width katakana
    if ((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) {
      const t = i + 1 < n ? b[i + 1]! : 0x40;
      if ((t >= 0x40 && t <= 0x7e) || (t >= 0x80 && t <= 0xfc)) {
        if (c === 0x82 || c === 0x83) kana++;
        i++;
      } else bad++;
    } else bad++;
  }
  return { bad, kana };
}

function eucScore(b: Uint8Array): { bad: number; kana: number } {
  const n = Math.min(b.length, SAMPLE);
  let bad = 0;
  let kana = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c < 0x80) continue;
    const t = i + 1 < n ? b[i + 1]! : 0xa1;
    if (c >= 0xa1 && c <= 0xfe) {
      if (t >= 0xa1 && t <= 0xfe) {
        if (c === 0xa4 || c === 0xa5) kana++;
        i++;
      } else bad++;
    } else if (c === 0x8e) {
      if (t >= 0xa1 && t <= 0xdf) i++;
      else bad++;
    } else if (c === 0x8f) {
      const u = i + 2 < n ? b[i + 2]! : 0xa1;
      if (t >= 0xa1 && t <= 0xfe && u >= 0xa1 && u <= 0xfe) i += 2;
      else bad++;
    } else bad++;
  }
  return { bad, kana };
}

export function detectEncoding(b: Uint8Array): TextEncoding {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  if (isIso2022Jp(b)) return 'iso-2022-jp';
  // Strict UTF-8 over a sample cut at a character boundary, then over everything if it passed.
  let cut = Math.min(b.length, SAMPLE);
  while (cut < b.length && cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--;
  if (validUtf8(b.subarray(0, cut)) && (cut === b.length || validUtf8(b))) return 'utf-8';
  const s = sjisScore(b);
  const e = eucScore(b);
  if (s.bad !== e.bad) return s.bad < e.bad ? 'shift_jis' : 'euc-jp';
  return e.kana > s.kana ? 'euc-jp' : 'shift_jis';
}

/** Decodes with the detected (or given) encoding; malformed sequences become U+FFFD, never an exception. */
export function decodeText(b: Uint8Array, encoding: TextEncoding = detectEncoding(b)): { text: string; encoding: TextEncoding } {
  // TextDecoder drops a BOM of its own encoding.
  return { text: new TextDecoder(encoding).decode(b), encoding };
}

/** Looks like binary (not text): NUL bytes or many control characters in the first 8 KiB (UTF-16 is recognised by its BOM first). */
export function looksBinary(b: Uint8Array): boolean {
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) return false;
  const n = Math.min(b.length, 8192);
  let ctl = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0) return true;
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b)) ctl++;
  }
  return ctl > n / 20;
}
