/**
 * Runs one SIEM exporter per configured destination beside the server (`mamori serve`). See
 * modules/audit/audit.exporter.ts for the guarantees and apps/server/src/modules/audit/README.md.
 */
import type { SiemConfig } from '../config/config.ts';
import type { AppContext } from '../platform/context.ts';
import { createSinks, startExporter } from '../modules/audit/index.ts';

export async function startSiemExport(ctx: AppContext, siem: SiemConfig): Promise<{ stop(): Promise<void> }> {
  // Reading the TLS files here makes a misconfigured destination stop the start-up, not fail silently later.
  const sinks = await createSinks(siem, ctx.auditLog.origin);
  const exporters = sinks.map((sink) => startExporter(ctx, sink, { batch: siem.batch }));
  return {
    async stop() {
      await Promise.all(exporters.map((e) => e.stop()));
    },
  };
}
