/**
 * The one place the gateway calls the DLP engine: the body and every attachment are scanned, each as
 * a part of its own (an attached ZIP, XLSX, CSV or .eml is opened by the engine, within its limits),
 * with exact data match against the vault, and the reports are merged. A part the engine could not
 * scan comes back in `errors` (never silently passed): the rules block such a message.
 *
 * Summary mode: every finding is counted per kind in `summary` (the rules decide on those counts), but
 * only the first `listed` are built with their masked excerpts (what the approver is shown) — a CSV of
 * contacts can hold millions of findings, and building an object for each costs ten times the scan.
 */
import type { DlpKind, DlpReport } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { createVaultMatcher, scanBuffer } from '../dlp/index.ts';
import type { MessagePart } from './transmissions.content.ts';

export async function scanParts(ctx: AppContext, parts: readonly MessagePart[], minConfidence: number, listed: number): Promise<DlpReport> {
  const vault = createVaultMatcher(ctx.db, ctx.keyring);
  const merged: DlpReport = { findings: [], summary: {}, errors: [], bytesScanned: 0, omittedFindings: 0 };
  for (const p of parts) {
    const room = listed - merged.findings.length;
    const r = await scanBuffer(p.name, new Uint8Array(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), { vault, minConfidence, maxFindings: Math.max(room, 0) });
    for (const f of r.findings) merged.findings.push(f);
    merged.omittedFindings! += r.omittedFindings ?? 0;
    merged.errors.push(...r.errors);
    merged.bytesScanned += r.bytesScanned;
    for (const [k, n] of Object.entries(r.summary) as [DlpKind, number][]) merged.summary[k] = (merged.summary[k] ?? 0) + n;
  }
  return merged;
}
