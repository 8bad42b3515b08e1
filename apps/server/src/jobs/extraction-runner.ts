/**
 * Runs approved extractions in the background (and closes those whose request was rejected,
 * cancelled or expired). Every step is a conditional update, so several nodes may run it.
 */
import type { AppContext } from '../platform/context.ts';
import { runDueExtractions, type ExtractionSettings } from '../modules/extraction/index.ts';

export function startExtractionRunner(ctx: AppContext, settings: ExtractionSettings, intervalMs = 2_000): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = runDueExtractions(ctx, settings)
      .then(() => undefined)
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'extraction runner failed; will retry'))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
