/**
 * The import's per-row work between parsing and the database, on a chunk of rows at a time: validate
 * each row (codec.check), and while the chunk is valid seal it, blind-index it and write its record
 * row and search-term rows in binary COPY form. The same code runs on the import's thread (small
 * imports, and the start of large ones) and on its worker threads (vault.import-workers.ts), so both
 * paths store the same bytes (apart from the seal's random IV).
 *
 * Nothing here touches the database or keeps state between chunks: a chunk's result is its problems
 * and its COPY rows, which the import applies in order.
 */
import { BinaryCopyRows, encodeTimestamptz, uuidBytes } from '../../platform/db/copy-binary.ts';
import { RecordCodec, type FieldProblem } from './vault.codec.ts';
import { parseDelimitedChunk, type DelimitedChunk } from './vault.import-csv.ts';
import type { ImportParseError, ImportRow } from './vault.import-errors.ts';
import { DatasetKeys } from './vault.keys.ts';
import type { DatasetView } from './vault.types.ts';

/** Problems a chunk reports in detail (the import reports at most this many in all). */
export const MAX_CHUNK_PROBLEMS = 100;

export type ChunkProblem = { line: number; field: string; problem: string };

export type EncodedChunk = {
  /** Rows the chunk held (of a chunk of text: those parsed before its error, if any). */
  rows: number;
  /** The parse error that ended a chunk of text, if any (rows are never parsed wrong otherwise). */
  failure: ImportParseError | undefined;
  /** Up to MAX_CHUNK_PROBLEMS, in line order. */
  problems: ChunkProblem[];
  problemCount: number;
  /** Binary COPY rows (no header or trailer) of the records and of their terms; null when the chunk had a problem or was not to be written. */
  records: Buffer | null;
  terms: Buffer | null;
};

/** What a worker thread needs to build the same encoder (plain data: it crosses threads). */
export type EncoderSetup = {
  view: DatasetView;
  termFields: [string, number][];
  activeDataKeyId: string;
  activeDataKey: Uint8Array;
  indexKey: Uint8Array;
  /** created_at and updated_at of every record, ms since the epoch. */
  at: number;
};

export class ImportEncoder {
  private readonly datasetId: Buffer;
  private readonly at: Buffer;
  private readonly keyIds = new Map<string, Buffer>();
  // Per row, reused: its problems, and the normalised values validation and encoding share.
  private readonly rowProblems: FieldProblem[] = [];
  private readonly trimmed: (string | undefined)[];

  constructor(
    private readonly codec: RecordCodec,
    datasetId: string,
    at: Date,
  ) {
    this.datasetId = uuidBytes(datasetId);
    this.at = encodeTimestamptz(at);
    this.trimmed = new Array<string | undefined>(codec.fieldCount).fill(undefined);
  }

  static setup(view: DatasetView, keys: DatasetKeys, codec: RecordCodec, at: Date): EncoderSetup {
    const k = keys.encodingKeys();
    return { view, termFields: codec.termFieldEntries(), activeDataKeyId: k.activeDataKeyId, activeDataKey: new Uint8Array(k.activeDataKey), indexKey: new Uint8Array(k.indexKey), at: at.getTime() };
  }

  static fromSetup(s: EncoderSetup): ImportEncoder {
    const keys = DatasetKeys.forEncoding(s.activeDataKeyId, Buffer.from(s.activeDataKey), Buffer.from(s.indexKey));
    return new ImportEncoder(new RecordCodec(s.view, keys, new Map(s.termFields)), s.view.id, new Date(s.at));
  }

  private keyIdBytes(keyId: string): Buffer {
    let b = this.keyIds.get(keyId);
    if (!b) this.keyIds.set(keyId, (b = Buffer.from(keyId, 'utf8')));
    return b;
  }

  /**
   * Parses a chunk of CSV or TSV text (parseDelimitedChunk) and encodes the rows before its first
   * error, if any, as `encode` does; `ids` holds one per record the chunk counts (at least one a row).
   */
  encodeText(chunk: DelimitedChunk, ids: readonly string[] | null): EncodedChunk {
    const { rows, failure } = parseDelimitedChunk(chunk);
    return { ...this.encode(rows, ids), failure };
  }

  /**
   * Checks every row of the chunk; writes them only when `ids` are given (one per row) and no row of
   * the chunk has a problem. The first problem stops the encoding, not the checking.
   */
  encode(rows: readonly ImportRow[], ids: readonly string[] | null): EncodedChunk {
    const problems: ChunkProblem[] = [];
    let problemCount = 0;
    let write = ids !== null;
    const records = write ? new BinaryCopyRows(rows.length * 640) : null;
    const terms = write ? new BinaryCopyRows(rows.length * 512) : null;
    const { rowProblems, trimmed, codec } = this;
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]!.values;
      rowProblems.length = 0;
      codec.check(v, rowProblems, trimmed);
      if (rowProblems.length > 0) {
        write = false;
        for (const p of rowProblems) {
          problemCount++;
          if (problems.length < MAX_CHUNK_PROBLEMS) problems.push({ line: rows[i]!.line, field: p.field, problem: p.problem });
        }
        continue;
      }
      if (!write) continue;
      const id = ids![i]!;
      const r = codec.encode(id, v, trimmed);
      // The id's bytes once: the record and each of its terms carry it.
      const idBytes = uuidBytes(id);
      const rr = records!.row(7).raw(idBytes).raw(this.datasetId).text(r.public).bytea(r.sealed);
      (r.keyId === null ? rr.null() : rr.raw(this.keyIdBytes(r.keyId))).raw(this.at).raw(this.at);
      for (const t of r.terms) terms!.row(2).int4Bytea(t.field, t.term).raw(idBytes);
    }
    const done = { rows: rows.length, failure: undefined, problems, problemCount };
    return write ? { ...done, records: records!.done(), terms: terms!.done() } : { ...done, records: null, terms: null };
  }
}
