/**
 * Runs the monitor beside the sequencer: every second (and straight again while there is a backlog)
 * it evaluates the newly integrated audit events. With several nodes only the holder of the monitor
 * lock evaluates; the cursor is in the database, so another node takes over where it stopped.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { monitorOnce } from '../modules/monitor/index.ts';

export function startMonitor(ctx: AppContext, intervalMs = 1000): PeriodicJob {
  return startPeriodic(ctx, { name: 'monitor', intervalMs }, async (stopping) => {
    for (;;) {
      const r = await monitorOnce(ctx);
      if (stopping() || !r || r.evaluated === 0) return;
    }
  });
}
