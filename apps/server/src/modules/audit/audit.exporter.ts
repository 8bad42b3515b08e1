/**
 * One SIEM exporter per destination: reads the integrated log in order from the destination's cursor,
 * sends batches, and moves the cursor only over batches the destination acknowledged, in order.
 * Nothing is ever skipped: after a failure everything unacknowledged is sent again (the first batch
 * exactly as before: it is pinned in the cursor row) with exponential back-off, after a reconnection,
 * after a restart, on another node.
 *
 * With several nodes on one PostgreSQL one exporter per destination runs at a time (a session advisory
 * lock); the others wait and take over when it stops or dies. Each cursor move is a compare-and-set,
 * so even an exporter that lost its lock without noticing cannot move the cursor wrongly.
 *
 * Progress is not audited (that would feed the log it exports without end); start, stop and errors
 * are logged without any event contents.
 */
import { createHash } from 'node:crypto';
import type { AppContext } from '../../platform/context.ts';
import { trySessionLock, type SessionLock } from '../../platform/db/session-lock.ts';
import { auditRepository } from './audit.repository.ts';
import { exportRepository } from './audit.export-repository.ts';
import { exportEvent } from './audit.export-format.ts';
import { describeError, type ExportSink } from './audit.export-sinks.ts';

/** Advisory-lock space of the exporters (the second key is derived from the destination id). */
const LOCK_SPACE = 7285003;

export type ExporterOptions = {
  batch: number;
  /** How often to look for new events when caught up. */
  pollMs?: number;
  /** How often an idle exporter says it is alive (heartbeat_at). */
  heartbeatMs?: number;
  /** How often a node without the lock tries to take it. */
  lockRetryMs?: number;
  /** Back-off after a failure: first delay and ceiling. */
  backoffMs?: number;
  maxBackoffMs?: number;
};

export type Exporter = { readonly id: string; stop(): Promise<void> };

class CursorMoved extends Error {}

function lockKey(id: string): number {
  return createHash('sha256').update(id).digest().readInt32BE(0);
}

export function startExporter(ctx: AppContext, sink: ExportSink, opts: ExporterOptions): Exporter {
  const pollMs = opts.pollMs ?? 500;
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const lockRetryMs = opts.lockRetryMs ?? 5_000;
  const backoffMs = opts.backoffMs ?? 500;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const abort = new AbortController();
  const log = ctx.logger.child({ destination: sink.id });
  const cursors = exportRepository(ctx.db);
  const audit = auditRepository(ctx.db);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (abort.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        resolve();
      }
      abort.signal.addEventListener('abort', done, { once: true });
    });

  type Inflight = { from: number; to: number; state: 'pending' | 'ok' | 'failed'; error: unknown; settled: Promise<void> };
  const track = (from: number, to: number, confirmed: Promise<void>): Inflight => {
    const item: Inflight = { from, to, state: 'pending', error: null, settled: Promise.resolve() };
    item.settled = confirmed.then(
      () => void (item.state = 'ok'),
      (err: unknown) => {
        item.state = 'failed';
        item.error = err;
      },
    );
    return item;
  };

  const exportWhileHolding = async (lock: SessionLock) => {
    let failures = 0;
    let lastBeat = 0;
    // null: (re)read where to resume, from the cursor row or the destination itself.
    let next: number | null = null;
    let pinnedTo: number | null = null;
    // Batches sent, oldest first, awaiting their confirmation; the cursor stands at inflight[0].from.
    let inflight: Inflight[] = [];
    while (!abort.signal.aborted && !lock.lost) {
      try {
        if (next === null) {
          inflight = [];
          const row = await cursors.get(sink.id);
          if (!row) throw new Error('the export cursor row is missing');
          const resume = sink.resumeFrom ? await sink.resumeFrom(row.next_seq) : row.next_seq;
          if (resume !== row.next_seq) {
            if (!(await cursors.reposition(sink.id, row.next_seq, resume, ctx.clock.now()))) throw new CursorMoved();
            pinnedTo = null;
          } else pinnedTo = row.inflight_to;
          next = resume;
        }
        // Move the cursor over every confirmed batch, in order; a failed one fails the rest.
        while (inflight[0] && inflight[0].state !== 'pending') {
          const done = inflight[0];
          if (done.state === 'failed') throw done.error;
          if (!(await cursors.advance(sink.id, done.from, done.to, ctx.clock.now()))) throw new CursorMoved();
          inflight.shift();
          if (failures > 0) log.info({ seq: done.to }, 'siem export recovered');
          failures = 0;
          lastBeat = Date.now();
        }
        const size = await audit.treeSize();
        if (next > size) throw new Error(`the destination is ahead of the log (seq ${next}, tree size ${size})`);
        if (next === size || inflight.length >= sink.maxInflight) {
          if (inflight[0]) await Promise.race([inflight[0].settled, sleep(pollMs)]);
          else {
            if (Date.now() - lastBeat >= heartbeatMs) {
              await cursors.heartbeat(sink.id, ctx.clock.now());
              lastBeat = Date.now();
            }
            await sleep(pollMs);
          }
          continue;
        }
        const to: number = pinnedTo ?? Math.min(next + opts.batch, size);
        const rows = await audit.integratedRange(next, to - next);
        // The integrated log is contiguous; if it ever is not, stop here rather than skip an index.
        if (rows.length !== to - next || rows.some((r, i) => r.log_index !== next! + i)) {
          throw new Error(`the integrated log is not contiguous in [${next}, ${to}); run \`mamori audit verify\``);
        }
        if (inflight.length === 0 && pinnedTo === null) {
          // Pinned: a retry, even after a restart or on another node, resends exactly this batch.
          if (!(await cursors.pin(sink.id, next, to))) throw new CursorMoved();
        }
        const receipt = await sink.send(rows.map((r) => exportEvent(r.log_index, r.payload)), { treeSize: size, signal: abort.signal });
        inflight.push(track(next, to, receipt.confirmed));
        next = to;
        pinnedTo = null;
      } catch (err) {
        inflight = [];
        sink.reset?.();
        if (err instanceof CursorMoved) {
          log.warn('siem export cursor moved by another exporter; letting go');
          return;
        }
        if (abort.signal.aborted) return;
        failures += 1;
        const message = describeError(err);
        log.warn({ err: { message }, failures }, 'siem export failed; will retry');
        await cursors.recordError(sink.id, message, ctx.clock.now()).catch(() => undefined);
        next = null;
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 20));
        await sleep(delay * (0.5 + Math.random() / 2));
      }
    }
  };

  const run = async () => {
    let announcedWaiting = false;
    while (!abort.signal.aborted) {
      let lock: SessionLock | null = null;
      try {
        await cursors.ensure(sink.id, sink.kind, sink.target);
        lock = await trySessionLock(ctx.database, LOCK_SPACE, lockKey(sink.id));
      } catch (err) {
        log.warn({ err: { message: describeError(err) } }, 'siem export cannot reach the database; will retry');
      }
      if (!lock) {
        if (!announcedWaiting) log.info('siem export runs on another node; standing by');
        announcedWaiting = true;
        await sleep(lockRetryMs);
        continue;
      }
      announcedWaiting = false;
      log.info({ target: sink.target }, 'siem export started');
      try {
        await exportWhileHolding(lock);
      } finally {
        await lock.release();
        log.info('siem export stopped');
      }
    }
  };

  const running = run().catch((err: unknown) => log.error({ err: { message: describeError(err) } }, 'siem export crashed'));
  return {
    id: sink.id,
    async stop() {
      abort.abort();
      await running;
      await sink.close?.();
    },
  };
}
