/**
 * ZIP reading for the scanner, defensive against decompression bombs. The central directory is
 * read (never the declared sizes trusted), and each entry is inflated in 4 KiB input steps with
 * fflate's streaming Inflate: after every step the output so far is checked against the entry
 * limit, the remaining total budget and the compression ratio, and inflation stops at once when
 * one is crossed. One step produces at most ~4 MiB (deflate's maximum ratio is 1032:1), so memory
 * stays within the limits plus one step whatever the archive claims or contains — overlapping
 * entries, 10 GB of zeros, or ZIPs nested in ZIPs (the caller bounds depth and entry count).
 */
import { Inflate } from 'fflate';

export type ZipEntry = {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  localOffset: number;
  isDirectory: boolean;
  encrypted: boolean;
};

export class ZipFormatError extends Error {}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 2 ** 32;

export function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 0x03 && b[3] === 0x04) || (b[2] === 0x05 && b[3] === 0x06));
}

function decodeName(raw: Uint8Array, utf8Flag: boolean): string {
  if (utf8Flag) return new TextDecoder('utf-8').decode(raw);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return new TextDecoder('shift_jis').decode(raw); // Windows' Explorer writes CP932 names without the UTF-8 flag
  }
}

/** The entries of the central directory. Throws ZipFormatError on a malformed archive; at most maxEntries + 1 are read. */
export function listZip(b: Uint8Array, maxEntries: number): ZipEntry[] {
  // End of central directory: the last signature 0x06054b50 within 64 KiB + 22 bytes of the end.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x05 && b[i + 3] === 0x06) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end of central directory');
  let count = u16(b, eocd + 10);
  let cdOffset = u32(b, eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    // ZIP64 end of central directory locator precedes the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || u32(b, loc) !== 0x07064b50) throw new ZipFormatError('ZIP64 locator missing');
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || u32(b, z) !== 0x06064b50) throw new ZipFormatError('ZIP64 end of central directory missing');
    count = u64(b, z + 32);
    cdOffset = u64(b, z + 48);
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count && entries.length <= maxEntries; k++) {
    if (p + 46 > b.length || u32(b, p) !== 0x02014b50) throw new ZipFormatError('bad central directory entry');
    const flags = u16(b, p + 8);
    const method = u16(b, p + 10);
    let compressedSize = u32(b, p + 20);
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    let localOffset = u32(b, p + 42);
    if (p + 46 + nameLen + extraLen > b.length) throw new ZipFormatError('truncated central directory');
    const name = decodeName(b.subarray(p + 46, p + 46 + nameLen), (flags & 0x800) !== 0);
    // ZIP64 extended information: only the fields that are 0xFFFFFFFF in the record, in order.
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff || u32(b, p + 24) === 0xffffffff) {
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = u16(b, e);
        const len = u16(b, e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (u32(b, p + 24) === 0xffffffff) q += 8; // uncompressed size (not used: never trusted)
          if (compressedSize === 0xffffffff) {
            compressedSize = u64(b, q);
            q += 8;
          }
          if (localOffset === 0xffffffff) localOffset = u64(b, q);
          break;
        }
        e += 4 + len;
      }
    }
    entries.push({ name, method, flags, compressedSize, localOffset, isDirectory: name.endsWith('/'), encrypted: (flags & 1) !== 0 });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The compressed bytes of an entry (after its local header). */
export function entryData(b: Uint8Array, e: ZipEntry): Uint8Array {
  const o = e.localOffset;
  if (o + 30 > b.length || u32(b, o) !== 0x04034b50) throw new ZipFormatError('bad local header');
  const start = o + 30 + u16(b, o + 26) + u16(b, o + 28);
  const end = start + e.compressedSize;
  if (end > b.length) throw new ZipFormatError('entry data runs past the end of the archive');
  return b.subarray(start, end);
}

export type InflateBudget = {
  /** Most bytes this entry may inflate to. */
  maxBytes: number;
  /** Most output / input ratio, checked once the output passes ratioFloor bytes. */
  maxRatio: number;
  ratioFloor: number;
};

export type InflateResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'size' | 'ratio' | 'corrupt'; inflated: number };

const STEP = 4096;

/** Inflates (method 8) or copies (method 0) with the budget enforced after every 4 KiB of input. */
export function inflateEntry(data: Uint8Array, method: number, budget: InflateBudget): InflateResult {
  if (method === 0) {
    if (data.length > budget.maxBytes) return { ok: false, reason: 'size', inflated: data.length };
    return { ok: true, bytes: data };
  }
  const chunks: Uint8Array[] = [];
  let out = 0;
  let stop: 'size' | 'ratio' | null = null;
  let done = false;
  const inf = new Inflate((chunk, final) => {
    out += chunk.length;
    if (out > budget.maxBytes) stop = 'size';
    else chunks.push(chunk);
    if (final) done = true;
  });
  let consumed = 0;
  try {
    while (consumed < data.length && stop === null && !done) {
      const next = Math.min(data.length, consumed + STEP);
      inf.push(data.subarray(consumed, next), next === data.length);
      consumed = next;
      if (stop === null && out > budget.ratioFloor && out / consumed > budget.maxRatio) stop = 'ratio';
    }
  } catch {
    return { ok: false, reason: 'corrupt', inflated: out };
  }
  if (stop) {
    chunks.length = 0;
    return { ok: false, reason: stop, inflated: out };
  }
  if (!done) return { ok: false, reason: 'corrupt', inflated: out };
  if (chunks.length === 1) return { ok: true, bytes: chunks[0]! };
  const all = new Uint8Array(out);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return { ok: true, bytes: all };
}
