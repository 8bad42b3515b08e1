/**
 * Runs approved extractions in the background (and closes those whose request was rejected,
 * cancelled or expired). Every step is a conditional update, so several nodes may run it.
 */
import type { AppContext } from '../platform/context.ts';
import { startPeriodic, type PeriodicJob } from './periodic.ts';
import { runDueExtractions, type ExtractionSettings } from '../modules/extraction/index.ts';

export function startExtractionRunner(ctx: AppContext, settings: ExtractionSettings, intervalMs = 2_000): PeriodicJob {
  return startPeriodic(ctx, { name: 'extraction runner', intervalMs, runAtStart: true }, () => runDueExtractions(ctx, settings));
}
