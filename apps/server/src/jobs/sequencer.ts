/**
 * Runs the audit sequencer: integrates pending events into the Merkle log every 200 ms (and straight
 * again while events arrive faster than that: the last batch held ≥ 1,000 events or was full), then hands each new signed checkpoint to
 * the witnesses. With several nodes only the holder of the advisory lock integrates; the others find
 * it busy.
 *
 * Between ticks the events of the next 200 ms gather into one batch. Looping straight on after every
 * non-empty batch (as before) kept the sequencer running flat out under a steady stream of reads, in
 * batches of a few dozen events, each paying the transaction's fixed part (five round trips, two
 * statements parsed and planned, the tree state row, a tile row rewritten per level) — see ADR 0010's
 * amendment of 2026-11-26. Every VACUUM_PENDING_EVERY integrated events (at most once a second) it also vacuums audit_pending,
 * so that the queue's space is reused instead of the file growing until autovacuum comes by.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { auditRepository, integrateAll, publishToWitnesses, sequenceOnce, SEQUENCER_BATCH } from '../modules/audit/index.ts';

/**
 * A batch of at least this many events (or a full one) sends the sequencer straight round again: the
 * events are arriving faster than one batch per tick, and waiting for the next tick would let them pile up.
 */
export const SEQUENCER_STRAIGHT_AGAIN = 1_000;

/**
 * One tick of the sequencer: a batch of up to `batch` pending events, and further batches only while
 * the last one was full or held at least SEQUENCER_STRAIGHT_AGAIN events. Returns how many sequencer
 * transactions ran and how many events they integrated.
 */
export async function sequencerTick(ctx: AppContext, stopping: () => boolean, batch = SEQUENCER_BATCH): Promise<{ batches: number; integrated: number }> {
  const again = Math.min(batch, SEQUENCER_STRAIGHT_AGAIN);
  let batches = 0;
  let integrated = 0;
  for (;;) {
    const r = await sequenceOnce(ctx.db, ctx.clock, { ...ctx.auditLog, batch });
    batches++;
    if (r?.checkpoint) await publishToWitnesses(ctx, r.checkpoint);
    integrated += r?.integrated ?? 0;
    if (stopping() || !r || r.integrated < again) return { batches, integrated };
  }
}

/**
 * The sequencer vacuums audit_pending (`vacuumPending`) once this many events were integrated since
 * the last time, and at most once a second (at high rates a vacuum per tick would cost more than the
 * space it gives back).
 */
export const VACUUM_PENDING_EVERY = 5_000;
const VACUUM_PENDING_MIN_MS = 1_000;

export function startSequencer(ctx: AppContext, intervalMs = 200): PeriodicJob {
  let sinceVacuum = 0;
  let lastVacuum = performance.now();
  const job = startPeriodic(ctx, { name: 'audit sequencer', intervalMs }, async (stopping) => {
    sinceVacuum += (await sequencerTick(ctx, stopping)).integrated;
    if (sinceVacuum >= VACUUM_PENDING_EVERY && performance.now() - lastVacuum >= VACUUM_PENDING_MIN_MS && !stopping()) {
      sinceVacuum = 0;
      lastVacuum = performance.now();
      await auditRepository(ctx.db).vacuumPending();
    }
  });
  return {
    async stop() {
      await job.stop();
      // Integrate what the last requests appended and sign a final checkpoint.
      await integrateAll(ctx);
    },
  };
}
