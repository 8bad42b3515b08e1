/**
 * Runs the audit sequencer: integrates pending events into the Merkle log every 200 ms (and straight
 * again while there is a backlog), then hands each new signed checkpoint to the witnesses. With
 * several nodes only the holder of the advisory lock integrates; the others find it busy.
 */
import type { AppContext } from '../platform/context.ts';
import { integrateAll, publishToWitnesses, sequenceOnce } from '../modules/audit/index.ts';

export function startSequencer(ctx: AppContext, intervalMs = 200): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const loop = async () => {
    for (;;) {
      const r = await sequenceOnce(ctx.db, ctx.clock, ctx.auditLog);
      if (r?.checkpoint) await publishToWitnesses(ctx, r.checkpoint);
      if (stopped || !r || r.integrated === 0) return;
    }
  };
  const tick = () => {
    if (stopped || running) return;
    running = loop()
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'audit sequencer failed; will retry'))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      // Integrate what the last requests appended and sign a final checkpoint.
      await integrateAll(ctx);
    },
  };
}
