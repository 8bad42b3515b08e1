/**
 * An import's answer as JSON Lines, for clients that ask for its progress (`Accept:
 * application/x-ndjson` on POST /api/datasets/:name/import): a progress line at the start, every few
 * thousand rows and at each later step (`{"progress":{"phase","rows","bytes","totalBytes"}}`), the last
 * progress line again while nothing new has been said for KEEP_ALIVE_MS (a long index rebuild must not
 * look like a dead connection to a proxy), and one last line: `{"result":…}`, or the error body the
 * plain answer would have had with its `status`. The import does not depend on the client: if it goes
 * away, the import still commits or rolls back.
 */
import { PassThrough } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { isAppError } from '../../platform/errors.ts';
import { appErrorReply, internalErrorReply } from '../../platform/http/errors.ts';
import type { ImportProgress, ImportResult } from './vault.import.ts';

/** The answer's media type that asks for an import's progress as it goes. */
export const PROGRESS_TYPE = 'application/x-ndjson';

/** Longest silence of the stream while the import runs: the last progress line is said again after it. */
export const KEEP_ALIVE_MS = 10_000;

/** A progress line's content: the import's step and rows, and the bytes of the spooled file read so far. */
export type ImportStreamProgress = { phase: ImportProgress['phase']; rows: number; bytes: number; totalBytes: number };

/** Runs the import, reporting the bytes of the file read and its progress. */
export type ImportRun = (onBytes: (n: number) => void, onProgress: (p: ImportProgress) => void) => Promise<ImportResult>;

export function importLines(totalBytes: number, run: ImportRun, requestId: string, log: FastifyBaseLogger, cleanup: () => Promise<void>, keepAliveMs = KEEP_ALIVE_MS): PassThrough {
  const out = new PassThrough();
  out.on('error', () => undefined); // a client gone away; nothing more is written
  let last = '';
  let quiet: NodeJS.Timeout | undefined;
  const say = (text: string) => {
    clearTimeout(quiet);
    if (out.destroyed) return;
    out.write(text);
    quiet = setTimeout(() => say(last), keepAliveMs);
    quiet.unref();
  };
  let bytes = 0;
  const progress = (phase: ImportProgress['phase'], rows: number) => {
    const p: ImportStreamProgress = { phase, rows, bytes, totalBytes };
    say((last = `${JSON.stringify({ progress: p })}\n`));
  };
  const end = (outcome: unknown) => {
    clearTimeout(quiet);
    if (!out.destroyed) out.write(`${JSON.stringify(outcome)}\n`);
  };
  progress('write', 0);
  void run((n) => (bytes += n), (p) => progress(p.phase, p.rows))
    .then(
      (result) => end({ result }),
      (err: unknown) => {
        const r = isAppError(err) ? appErrorReply(err, requestId) : internalErrorReply(err as Error, requestId, log);
        end({ status: r.status, ...r.body });
      },
    )
    .finally(() => cleanup().catch(() => undefined).then(() => out.end()));
  return out;
}
