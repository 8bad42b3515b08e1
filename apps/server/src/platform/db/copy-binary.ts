/**
 * Rows in PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html):
 * a signature header, then per row an int16 field count and per field an int32 length (-1 for NULL)
 * and the value in the type's binary send format, then an int16 -1 trailer. For bulk loads this spares
 * the server parsing hex bytea, uuids and timestamps from text, and the client escaping CSV.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (int32 0: no OIDs), header extension length (int32 0). */
export const BINARY_COPY_HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;

function hexNibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  throw new Error('bad uuid');
}

/**
 * A uuid's 16 bytes from its canonical text form, for a value written more than once (`raw`): a record
 * id is written with the record and again with each of its search terms.
 */
export function uuidBytes(s: string): Buffer {
  if (s.length !== 36) throw new Error('bad uuid');
  const b = Buffer.allocUnsafe(16);
  let o = 0;
  for (let i = 0; i < 36; i += 2) {
    if (i === 8 || i === 13 || i === 18 || i === 23) i++;
    b[o++] = (hexNibble(s.charCodeAt(i)) << 4) | hexNibble(s.charCodeAt(i + 1));
  }
  return b;
}

const EMPTY = Buffer.alloc(0);

/** A growing buffer of binary COPY rows; `take()` hands out what is written so far. */
export class BinaryCopyRows {
  private buf: Buffer;
  private off = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.off;
  }

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): this {
    this.room(2);
    this.off = this.buf.writeInt16BE(fields, this.off);
    return this;
  }

  null(): this {
    this.room(4);
    this.off = this.buf.writeInt32BE(-1, this.off);
    return this;
  }

  int4(n: number): this {
    this.room(8);
    this.off = this.buf.writeInt32BE(4, this.off);
    this.off = this.buf.writeInt32BE(n, this.off);
    return this;
  }

  /** A uuid from its canonical text form (8-4-4-4-12 hex digits). */
  uuid(s: string): this {
    if (s.length !== 36) throw new Error('bad uuid');
    this.room(20);
    const b = this.buf;
    let o = b.writeInt32BE(16, this.off);
    for (let i = 0; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) i++;
      b[o++] = (hexNibble(s.charCodeAt(i)) << 4) | hexNibble(s.charCodeAt(i + 1));
    }
    this.off = o;
    return this;
  }

  bytea(v: Buffer | null): this {
    if (v === null) return this.null();
    this.room(4 + v.length);
    this.off = this.buf.writeInt32BE(v.length, this.off);
    // TypedArray#set: Buffer#copy's argument handling costs more than the copy of a few bytes.
    this.buf.set(v, this.off);
    this.off += v.length;
    return this;
  }

  /**
   * A bytea of the int32 `n` (big-endian) followed by `v`, without joining them first: a search
   * term's key in record_terms, `record_term(field_id, term)` in SQL (migration 0019).
   */
  int4Bytea(n: number, v: Buffer): this {
    this.room(8 + v.length);
    this.off = this.buf.writeInt32BE(4 + v.length, this.off);
    this.off = this.buf.writeInt32BE(n, this.off);
    this.buf.set(v, this.off);
    this.off += v.length;
    return this;
  }

  text(v: string | null): this {
    if (v === null) return this.null();
    this.room(4 + v.length * 3);
    const at = this.off;
    const n = this.buf.write(v, at + 4, 'utf8');
    this.buf.writeInt32BE(n, at);
    this.off = at + 4 + n;
    return this;
  }

  /** A value already in binary send form, e.g. one encoded once for every row (`encodeTimestamptz`). */
  raw(value: Buffer): this {
    return this.bytea(value);
  }

  /** Bytes as they are, without a length: a COPY header or trailer. */
  bytes(b: Buffer): this {
    this.room(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }

  /** Everything written, without copying it, when nothing more will be written (no fresh buffer, unlike take()). */
  done(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = EMPTY;
    this.off = 0;
    return out;
  }

  /**
   * Everything written so far, without copying it: writing goes on in a fresh buffer of the same
   * size (uninitialised, so untouched pages cost nothing). Copying megabytes per batch, and zeroing
   * the copies, cost the import several µs per row.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.off = 0;
    return out;
  }
}

/** timestamptz in binary send form: int64 microseconds since 2000-01-01 UTC. */
export function encodeTimestamptz(at: Date): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(at.getTime() - PG_EPOCH_MS) * 1000n);
  return b;
}
