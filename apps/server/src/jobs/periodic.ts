/**
 * The schedule every background job shares: run `work` every `intervalMs` (and once at start when
 * asked), never two runs of one job at once in this process, an error logged (its message only: no
 * personal data) and retried at the next tick, and `stop()` that waits for a run in progress. `work`
 * gets `stopping()` so a loop that drains a backlog can end early.
 */
import type { AppContext } from '../platform/context.ts';

export type PeriodicJob = { stop(): Promise<void> };

export function startPeriodic(
  ctx: AppContext,
  job: { name: string; intervalMs: number; runAtStart?: boolean },
  work: (stopping: () => boolean) => Promise<unknown>,
): PeriodicJob {
  let running: Promise<void> | null = null;
  let stopped = false;
  const stopping = () => stopped;
  const tick = () => {
    if (stopped || running) return;
    running = work(stopping)
      .then(() => undefined)
      .catch((err: unknown) => ctx.logger.error({ err: { message: (err as Error).message } }, `${job.name} failed; will retry`))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, job.intervalMs);
  timer.unref();
  if (job.runAtStart) tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
