/**
 * Retires users whose retirement date (sent by HR through SCIM) has been reached: the full leaver
 * path (sessions, tokens, grants, approvals, door cards), as the local system actor. Several nodes
 * may run it: each retirement re-checks the user under a row lock, so it happens once.
 */
import type { AppContext } from '../platform/context.ts';
import { systemActor } from '../modules/identity/index.ts';
import { retireDue } from '../modules/lifecycle/index.ts';

export function startRetirementJob(ctx: AppContext, intervalMs = 30_000): { stop(): Promise<void> } {
  const actor = systemActor({ ip: null, userAgent: 'mamori-retirement-job', deviceId: null });
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = (async () => {
      while (!stopped && (await retireDue(ctx, actor, 100)) === 100);
    })()
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, 'retirement job failed; will retry'))
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
