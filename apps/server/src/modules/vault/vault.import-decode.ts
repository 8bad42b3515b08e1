/**
 * Bytes of an import file → decoded text, for the parsers in vault.import-parse.ts: the encoding
 * (UTF-8, UTF-8 with BOM, or Shift_JIS/CP932) is detected from the head of the file, and invalid
 * byte sequences are pinned to their physical line. Text is handed on in whole lines, so the valid
 * text before a bad line is still parsed (and its own errors reported) before the encoding error.
 */
import { TextDecoder } from 'node:util';
import { ImportParseError } from './vault.import-errors.ts';

/** Encoding is decided from this much of the file. */
const HEAD_BYTES = 64 * 1024;
/**
 * Bytes are handed to the decoder in whole lines so an invalid sequence can be pinned to its line.
 * A "line" longer than this (no LF at all, e.g. a CR-only file) is decoded in streaming mode instead
 * of being buffered without bound; errors in it are then reported at the line where it started.
 */
const MAX_CARRY_BYTES = 1024 * 1024;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

type TextEncodingName = 'utf-8' | 'shift_jis';

/**
 * Length of the longest prefix of `bytes` that is valid UTF-8, an incomplete final character
 * allowed. Validity of prefixes is monotonic, so a binary search over streaming decodes finds it
 * without a hand-written validator. Only used on a head that failed to decode.
 */
function validUtf8PrefixLength(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/**
 * UTF-8 when the head has a UTF-8 BOM or decodes as UTF-8; otherwise Shift_JIS. The WHATWG
 * 'shift_jis' decoder is really Windows-31J (CP932), which is what Excel in Japan writes, NEC and
 * IBM extensions (①, ㈱, 髙) included. Pure ASCII is both and decodes identically either way.
 *
 * One refinement: when the head fails as UTF-8 but the part before the first bad byte already
 * holds multi-byte UTF-8 characters, the file is UTF-8 with a damaged byte, and it is read as
 * UTF-8 so the import fails on that line. Calling it Shift_JIS would usually "succeed" and import
 * mojibake. Real Shift_JIS text almost never starts with a valid UTF-8 multi-byte sequence: its
 * kana and most kanji lead bytes (0x81–0x9F) are UTF-8 continuation bytes, invalid as a start.
 */
export function detectEncoding(head: Uint8Array): TextEncodingName {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  try {
    // stream: true so a multi-byte character cut off at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'utf-8';
  } catch {
    const valid = new TextDecoder('utf-8').decode(head.subarray(0, validUtf8PrefixLength(head)), { stream: true });
    return /\P{ASCII}/u.test(valid) ? 'utf-8' : 'shift_jis';
  }
}

const ENCODING_LABEL: Record<TextEncodingName, string> = { 'utf-8': 'UTF-8', shift_jis: 'Shift_JIS' };

function countByte(bytes: Uint8Array, byte: number): number {
  let n = 0;
  for (let i = bytes.indexOf(byte); i !== -1; i = bytes.indexOf(byte, i + 1)) n++;
  return n;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

class DecodeFailure {
  constructor(
    readonly validPrefix: string,
    readonly line: number,
  ) {}
}

/**
 * A fatal TextDecoder fed whole lines. In both UTF-8 and Shift_JIS the byte 0x0A only ever encodes
 * LF (Shift_JIS trail bytes start at 0x40), so cutting after an LF never splits a character: the
 * decoder holds no partial state between calls, and when a segment fails it can be re-decoded line
 * by line to find the first bad line and keep the good text before it.
 */
class LineAlignedDecoder {
  private readonly decoder: TextDecoder;
  private carry: Uint8Array = EMPTY;
  /** Physical line number of the first byte not yet decoded. */
  private line = 1;
  /** True while the decoder holds no partial character (the last segment ended with LF). */
  private aligned = true;
  private atStart = true;

  constructor(readonly encoding: TextEncodingName) {
    // ignoreBOM false (the default): a leading UTF-8 BOM is consumed, not returned.
    this.decoder = new TextDecoder(encoding, { fatal: true });
  }

  /** Decodes what can be decoded now; throws DecodeFailure on an invalid sequence. */
  push(chunk: Uint8Array, final: boolean): string {
    const data = concatBytes(this.carry, chunk);
    let cut = data.length;
    if (!final) {
      const lf = data.lastIndexOf(LF);
      if (lf !== -1) cut = lf + 1;
      else if (data.length <= MAX_CARRY_BYTES) {
        this.carry = data;
        return '';
      }
    }
    this.carry = data.subarray(cut);
    const segment = data.subarray(0, cut);
    let text: string;
    try {
      text = this.decoder.decode(segment, { stream: !final });
    } catch {
      throw this.locate(segment, final);
    }
    this.line += countByte(segment, LF);
    this.aligned = final || segment[segment.length - 1] === LF;
    this.atStart = false;
    return text;
  }

  /** Finds the first line of `segment` that does not decode; only runs on the error path. */
  private locate(segment: Uint8Array, final: boolean): DecodeFailure {
    // A partial character carried over from an over-long line cannot be re-decoded in isolation.
    if (!this.aligned) return new DecodeFailure('', this.line);
    const probe = new TextDecoder(this.encoding, { fatal: true, ignoreBOM: !this.atStart });
    let prefix = '';
    let line = this.line;
    let start = 0;
    while (start < segment.length) {
      const lf = segment.indexOf(LF, start);
      const end = lf === -1 ? segment.length : lf + 1;
      try {
        prefix += probe.decode(segment.subarray(start, end), { stream: !(final && end === segment.length) });
      } catch {
        return new DecodeFailure(prefix, line);
      }
      line++;
      start = end;
    }
    // Only an incomplete character at the very end is left (final flush of an empty segment).
    return new DecodeFailure(prefix, line > this.line ? line - 1 : line);
  }
}

export type ByteSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  // A stream with setEncoding() already yields strings; UTF-8 is the faithful way back to bytes.
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('import input must yield bytes');
}

/**
 * Raw bytes → decoded text pieces, each ending at a line break except possibly the last. On an
 * invalid byte sequence the valid text before the bad line is yielded first, then the error is
 * thrown, so rows before it are processed (and their own errors reported) in file order.
 */
export async function* decodeInput(input: ByteSource, onBytes: ((n: number) => void) | undefined): AsyncGenerator<string, void, undefined> {
  let decoder: LineAlignedDecoder | undefined;
  let head: Uint8Array[] = [];
  let headLength = 0;

  function* feed(d: LineAlignedDecoder, bytes: Uint8Array, final: boolean): Generator<string, void, undefined> {
    let text: string;
    try {
      text = d.push(bytes, final);
    } catch (err) {
      if (!(err instanceof DecodeFailure)) throw err;
      if (err.validPrefix !== '') yield err.validPrefix;
      throw new ImportParseError(
        'import.invalid_encoding',
        err.line,
        `Line ${err.line}: invalid byte sequence for ${ENCODING_LABEL[d.encoding]}`,
      );
    }
    if (text !== '') yield text;
  }

  for await (const raw of input as AsyncIterable<unknown>) {
    const chunk = toBytes(raw);
    onBytes?.(chunk.byteLength);
    if (decoder !== undefined) {
      yield* feed(decoder, chunk, false);
      continue;
    }
    head.push(chunk);
    headLength += chunk.byteLength;
    if (headLength >= HEAD_BYTES) {
      const bytes = Buffer.concat(head);
      head = [];
      decoder = new LineAlignedDecoder(detectEncoding(bytes));
      yield* feed(decoder, bytes, false);
    }
  }
  if (decoder === undefined) {
    const bytes = Buffer.concat(head);
    yield* feed(new LineAlignedDecoder(detectEncoding(bytes)), bytes, true);
  } else {
    yield* feed(decoder, EMPTY, true);
  }
}
