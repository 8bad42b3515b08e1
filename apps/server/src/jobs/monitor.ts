/**
 * Runs the monitor beside the sequencer: every second (and straight again while there is a backlog)
 * it evaluates the newly integrated audit events. With several nodes only the holder of the monitor
 * lock evaluates; the cursor is in the database, so another node takes over where it stopped.
 */
import type { AppContext } from '../platform/context.ts';
import { monitorOnce } from '../modules/monitor/index.ts';

export function startMonitor(ctx: AppContext, intervalMs = 1000): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const loop = async () => {
    for (;;) {
      const r = await monitorOnce(ctx);
      if (stopped || !r || r.evaluated === 0) return;
    }
  };
  const tick = () => {
    if (stopped || running) return;
    running = loop()
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'monitor failed; will retry'))
      .finally(() => (running = null));
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
