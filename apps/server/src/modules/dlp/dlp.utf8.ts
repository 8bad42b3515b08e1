/**
 * Reading UTF-8 bytes as characters, for the detector core (dlp.scanner.ts) which scans the raw
 * bytes of a file instead of a decoded JS string: decoding 100 MB of Japanese CSV to UTF-16 costs
 * more than the whole scan. The input is valid UTF-8 (dlp.encoding.ts checks it, other encodings
 * are transcoded first), so a position is a character start exactly when its byte is not a
 * continuation byte (10xxxxxx).
 *
 * Tables of the scanner are indexed by BMP code point (65536 entries); a supplementary character
 * (4 bytes, a surrogate pair in UTF-16) reads as SUPPLEMENTARY, which no table classifies, as the
 * UTF-16 scanner saw a surrogate. Lengths and columns reported to users stay in UTF-16 units
 * (`units`), as the DlpFinding contract and the earlier string scanner had them.
 */

/** What cpAt returns for a 4-byte character: U+FFFF, a noncharacter every table leaves at 0. */
export const SUPPLEMENTARY = 0xffff;

/** Byte length of the character whose first byte is b (1 for a stray continuation byte). */
export const CHAR_LEN = new Uint8Array(256);
for (let b = 0; b < 256; b++) CHAR_LEN[b] = b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;

/** The code point of the character starting at p (BMP; SUPPLEMENTARY above it). */
export function cpAt(t: Uint8Array, p: number): number {
  const b = t[p]!;
  if (b < 0x80) return b;
  if (b < 0xe0) return ((b & 0x1f) << 6) | (t[p + 1]! & 0x3f);
  if (b < 0xf0) return ((b & 0x0f) << 12) | ((t[p + 1]! & 0x3f) << 6) | (t[p + 2]! & 0x3f);
  return SUPPLEMENTARY;
}

/** Start of the character before position p (p > 0). */
export function prevStart(t: Uint8Array, p: number): number {
  let q = p - 1;
  while (q > 0 && (t[q]! & 0xc0) === 0x80) q--;
  return q;
}

/** UTF-16 units of the characters in [from, to). */
export function units(t: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let p = from; p < to; p++) {
    const b = t[p]!;
    if ((b & 0xc0) !== 0x80) n += b >= 0xf0 ? 2 : 1;
  }
  return n;
}

/** UTF-16 units of the character starting at p. */
export function unitsAt(t: Uint8Array, p: number): number {
  return t[p]! >= 0xf0 ? 2 : 1;
}

/**
 * The position `n` UTF-16 units before p, not before lo (a character straddling the limit is left
 * out: the string scanner would have started inside its surrogate pair and matched nothing there).
 */
export function backUnits(t: Uint8Array, lo: number, p: number, n: number): number {
  let u = 0;
  while (p > lo) {
    const q = prevStart(t, p);
    const w = unitsAt(t, q);
    if (u + w > n) break;
    u += w;
    p = q;
  }
  return p;
}

/** UTF-8 bytes of a string (tables of keywords and names are built from these). */
export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** Decodes t[from, to) (small ranges: values for the vault, excerpts' pieces). */
export function decode(t: Uint8Array, from: number, to: number): string {
  return Buffer.from(t.buffer, t.byteOffset + from, to - from).toString('utf8');
}
