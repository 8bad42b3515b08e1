/**
 * Runs the audit sequencer: integrates pending events into the Merkle log every 200 ms (and straight
 * again while there is a backlog), then hands each new signed checkpoint to the witnesses. With
 * several nodes only the holder of the advisory lock integrates; the others find it busy.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { integrateAll, publishToWitnesses, sequenceOnce } from '../modules/audit/index.ts';

export function startSequencer(ctx: AppContext, intervalMs = 200): PeriodicJob {
  const job = startPeriodic(ctx, { name: 'audit sequencer', intervalMs }, async (stopping) => {
    for (;;) {
      const r = await sequenceOnce(ctx.db, ctx.clock, ctx.auditLog);
      if (r?.checkpoint) await publishToWitnesses(ctx, r.checkpoint);
      if (stopping() || !r || r.integrated === 0) return;
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
