/**
 * The one place the gateway calls the DLP engine: the body and every attachment are scanned, each as
 * a part of its own (an attached ZIP, XLSX, CSV or .eml is opened by the engine, within its limits),
 * with exact data match against the vault, and the reports are merged. A part the engine could not
 * scan comes back in `errors` (never silently passed): the rules block such a message.
 */
import type { DlpKind, DlpReport } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { createVaultMatcher, scanBuffer } from '../dlp/index.ts';
import type { MessagePart } from './transmissions.content.ts';

export async function scanParts(ctx: AppContext, parts: readonly MessagePart[], minConfidence: number): Promise<DlpReport> {
  const vault = createVaultMatcher(ctx.db, ctx.keyring);
  const merged: DlpReport = { findings: [], summary: {}, errors: [], bytesScanned: 0 };
  for (const p of parts) {
    const r = await scanBuffer(p.name, new Uint8Array(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), { vault, minConfidence });
    merged.findings.push(...r.findings);
    merged.errors.push(...r.errors);
    merged.bytesScanned += r.bytesScanned;
    for (const [k, n] of Object.entries(r.summary) as [DlpKind, number][]) merged.summary[k] = (merged.summary[k] ?? 0) + n;
  }
  return merged;
}
