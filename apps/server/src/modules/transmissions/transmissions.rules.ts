/**
 * The routing rules, pure: given what the scan found, the attachments and the recipients, decide
 * whether a held message is blocked, needs an approver, or may go directly. Fixed by policy (T6), not
 * by settings: a part that could not be scanned blocks (an unscannable ZIP bomb is not "clean"), and a
 * message with attachments is always approved by a person. The rest is configured.
 */
import { DLP_KINDS, ROLES, type DlpKind, type DlpReport, type TransmissionRoute, type TransmissionRules } from '@mamori/contracts';
import { AppError } from '../../platform/errors.ts';

export const DEFAULT_RULES: TransmissionRules = {
  internalDomains: [],
  blockKinds: ['my_number'],
  // 法人番号 is public corporate information, not personal data.
  approvalKinds: DLP_KINDS.filter((k) => k !== 'corporate_number' && k !== 'my_number'),
  minConfidence: 0.5,
  directInternal: true,
  review: { periodDays: 7, samplePercent: 100, graceDays: 3, reviewerRoles: ['security_center'] },
};

export type RouteInput = {
  report: Pick<DlpReport, 'summary' | 'errors'>;
  attachments: number;
  recipients: readonly string[];
};

export type RouteDecision = { route: TransmissionRoute; reasons: string[]; external: string[]; personalKinds: DlpKind[] };

/** The domain part of an address, lower-cased (IDN left as written). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Internal when the domain is one of the configured domains or a sub-domain of one. */
export function isInternal(address: string, internalDomains: readonly string[]): boolean {
  const d = domainOf(address);
  return internalDomains.some((x) => d === x || d.endsWith(`.${x}`));
}

export function decideRoute(rules: TransmissionRules, input: RouteInput): RouteDecision {
  const external = input.recipients.filter((r) => !isInternal(r, rules.internalDomains));
  // The scan counts every finding at or above the rules' confidence per kind (summary), listed or not.
  const found = (Object.entries(input.report.summary) as [DlpKind, number][]).filter(([, n]) => n > 0).map(([k]) => k);
  const blocking = found.filter((k) => rules.blockKinds.includes(k));
  const personalKinds = found.filter((k) => rules.approvalKinds.includes(k));
  const reasons: string[] = [];
  if (input.report.errors.length > 0) reasons.push(...new Set(input.report.errors.map((e) => `scan_error:${e.code}`)));
  for (const k of blocking) reasons.push(`block:${k}`);
  if (reasons.length > 0) return { route: 'block', reasons, external, personalKinds };
  if (input.attachments > 0) reasons.push('attachments');
  for (const k of personalKinds) reasons.push(`finding:${k}`);
  if (external.length > 0) reasons.push('external');
  if (!rules.directInternal) reasons.push('direct_disabled');
  // Direct only when nothing at all calls for a person: no attachment, no finding, internal only.
  if (reasons.length === 0) return { route: 'direct', reasons: ['internal_clean'], external, personalKinds };
  return { route: 'approve', reasons, external, personalKinds };
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Checks a rules document from the console or API; refuses with `transmission.invalid` naming the field. */
export function validateRules(input: TransmissionRules): TransmissionRules {
  const bad = (field: string, message: string) => new AppError('transmission.invalid', message, { field });
  const kinds = (field: string, xs: unknown): DlpKind[] => {
    if (!Array.isArray(xs) || xs.some((k) => !(DLP_KINDS as readonly string[]).includes(k as string))) throw bad(field, 'Unknown finding kind.');
    return [...new Set(xs as DlpKind[])];
  };
  const domains = (input.internalDomains ?? []).map((d) => String(d).trim().toLowerCase().replace(/^@/, ''));
  if (domains.length > 50 || domains.some((d) => !DOMAIN.test(d))) throw bad('internalDomains', 'Internal domains are up to 50 domain names like example.co.jp.');
  const blockKinds = kinds('blockKinds', input.blockKinds);
  const approvalKinds = kinds('approvalKinds', input.approvalKinds);
  if (!blockKinds.includes('my_number')) throw bad('blockKinds', 'マイナンバー (my_number) always blocks: it may not be sent by mail at all.');
  if (typeof input.minConfidence !== 'number' || !(input.minConfidence >= 0 && input.minConfidence <= 1)) throw bad('minConfidence', 'The minimum confidence is between 0 and 1.');
  const r = input.review;
  if (!r || !Number.isInteger(r.periodDays) || r.periodDays < 1 || r.periodDays > 92) throw bad('review.periodDays', 'A review period is 1 to 92 days.');
  if (!Number.isInteger(r.samplePercent) || r.samplePercent < 1 || r.samplePercent > 100) throw bad('review.samplePercent', 'The sample is 1 to 100 percent.');
  if (!Number.isInteger(r.graceDays) || r.graceDays < 0 || r.graceDays > 30) throw bad('review.graceDays', 'The grace period is 0 to 30 days.');
  if (!Array.isArray(r.reviewerRoles) || r.reviewerRoles.length === 0 || r.reviewerRoles.some((x) => !(ROLES as readonly string[]).includes(x))) {
    throw bad('review.reviewerRoles', 'At least one reviewer role is needed.');
  }
  return {
    internalDomains: [...new Set(domains)], blockKinds, approvalKinds: approvalKinds.filter((k) => !blockKinds.includes(k)),
    minConfidence: input.minConfidence, directInternal: Boolean(input.directInternal),
    review: { periodDays: r.periodDays, samplePercent: r.samplePercent, graceDays: r.graceDays, reviewerRoles: [...new Set(r.reviewerRoles)] },
  };
}

/** Review periods are aligned on Monday 00:00 JST (2024-01-01 was a Monday), `periodDays` long. */
const ANCHOR = Date.parse('2024-01-01T00:00:00+09:00');

export function periodOf(at: Date, periodDays: number): { start: Date; end: Date } {
  const len = periodDays * 86_400_000;
  const n = Math.floor((at.getTime() - ANCHOR) / len);
  return { start: new Date(ANCHOR + n * len), end: new Date(ANCHOR + (n + 1) * len) };
}

/**
 * Whether a transmission falls in the review sample: a keyed, stable choice (the same id is always in
 * or out for a given review), so the reviewer cannot steer it and a re-run picks the same items.
 */
export function inSample(hash: Buffer, samplePercent: number): boolean {
  return samplePercent >= 100 || hash.readUInt32BE(0) % 100 < samplePercent;
}
