/**
 * Expires approval requests past their deadline (time-to-live while pending, validity window while
 * approved and unused), records each expiry and tells the requester. Reads and uses also check the
 * deadline themselves, so this job only keeps the stored state and the notifications timely. Several
 * nodes may run it: each expiry is a conditional update, so exactly one node records it.
 */
import type { AppContext } from '../platform/context.ts';
import { expireDue } from '../modules/approvals/index.ts';

export function startApprovalExpiry(ctx: AppContext, intervalMs = 30_000): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = (async () => {
      while (!stopped && (await expireDue(ctx, 200)) === 200);
    })()
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'approval expiry failed; will retry'))
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
