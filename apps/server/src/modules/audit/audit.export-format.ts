/**
 * What a SIEM receives for one integrated audit event. The sequence number is the event's log index,
 * so a SIEM can prove it holds every event (0..N-1, no gap) against Mamori's signed checkpoints; the
 * leaf hash lets it check each event against an inclusion proof.
 *
 * - JSON Lines: `{"seq":N,"leafHash":"<base64>","event":<the canonical event bytes, verbatim>}`.
 *   `JSON.stringify(JSON.parse(line).event)` gives back the exact bytes the Merkle tree hashed.
 * - Syslog: RFC 5424, octet-counting framing (RFC 5425 / RFC 6587 §3.4.1):
 *   `LEN <PRI>1 TIMESTAMP HOSTNAME mamori - MSGID [mamori@32473 seq="N" leafHash="…" treeSize="M" origin="…"] BOM EVENT`
 *   with facility 13 (log audit), severity 6 (allowed) or 5 (denied), TIMESTAMP the event's time,
 *   MSGID the action, and MSG the canonical event bytes (UTF-8, after a BOM as RFC 5424 §6.4 asks).
 */
import { leafHash } from './audit.merkle.ts';

export type ExportEvent = { seq: number; payload: string; leafHash: Buffer };

/** RFC 5424 SD-ID. 32473 is the private enterprise number reserved for documentation (RFC 5612): Mamori has none of its own yet. */
export const SD_ID = 'mamori@32473';
const FACILITY_LOG_AUDIT = 13;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export function exportEvent(seq: number, payload: string): ExportEvent {
  return { seq, payload, leafHash: leafHash(Buffer.from(payload, 'utf8')) };
}

export function jsonlLine(e: ExportEvent): string {
  // The payload is JSON already (the canonical bytes): embedded as it is, never re-serialised.
  return `{"seq":${e.seq},"leafHash":"${e.leafHash.toString('base64')}","event":${e.payload}}`;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): '"', '\' and ']' get a backslash. */
function paramValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII only, at most `max` characters, NILVALUE when empty. */
function headerField(v: string, max: number): string {
  const clean = v.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

export type SyslogOptions = { hostname: string; treeSize: number; origin: string };

/** One RFC 5424 message (without framing). */
export function syslogMessage(e: ExportEvent, opts: SyslogOptions): Buffer {
  const event = JSON.parse(e.payload) as { at?: unknown; action?: unknown; decision?: unknown };
  const severity = event.decision === 'deny' ? 5 : 6;
  const at = typeof event.at === 'string' && !Number.isNaN(Date.parse(event.at)) ? new Date(event.at).toISOString() : '-';
  const sd = `[${SD_ID} seq="${e.seq}" leafHash="${e.leafHash.toString('base64')}" treeSize="${opts.treeSize}" origin="${paramValue(opts.origin)}"]`;
  const header = `<${FACILITY_LOG_AUDIT * 8 + severity}>1 ${at} ${headerField(opts.hostname, 255)} mamori - ${headerField(typeof event.action === 'string' ? event.action : '', 32)} ${sd} `;
  return Buffer.concat([Buffer.from(header, 'ascii'), BOM, Buffer.from(e.payload, 'utf8')]);
}

/** Octet-counting framing: `MSG-LEN SP SYSLOG-MSG` (RFC 5425 §4.3). */
export function octetCounted(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}
