/**
 * Runs the audit sequencer: integrates pending events into the Merkle log at least every 200 ms.
 * With several nodes only the holder of the advisory lock integrates; the others find it busy.
 */
import type { AppContext } from '../platform/context.ts';
import { sequenceOnce } from '../modules/audit/index.ts';

export function startSequencer(ctx: AppContext, intervalMs = 200): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    running = sequenceOnce(ctx.db, ctx.clock)
      .then((r) => (r && r.integrated > 0 ? tick() : undefined))
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'audit sequencer failed; will retry'));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
