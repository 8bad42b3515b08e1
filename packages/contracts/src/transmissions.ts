/**
 * Outbound transmissions (T6): every message staff send out through Mamori (SMTP submission or the
 * console's compose page) is held, scanned by the DLP engine, routed by the rules (approve, block,
 * direct), delivered over verified TLS only, registered and periodically reviewed.
 */
import type { PersonRef } from './approvals.ts';
import type { DlpKind } from './dlp.ts';
import type { Role } from './domain.ts';

export const TRANSMISSION_STATES = [
  // Submitted over SMTP with a password only: the sender confirms it in the console (with MFA) first.
  'unconfirmed',
  'pending_approval',
  // Approved (or direct): waiting for, or retrying, delivery to the upstream relay.
  'queued',
  'delivered',
  'blocked',
  'rejected',
  'cancelled',
  // Delivery given up after the last attempt (still listed; nothing was sent).
  'failed',
] as const;
export type TransmissionState = (typeof TRANSMISSION_STATES)[number];

export const TRANSMISSION_CHANNELS = ['smtp', 'console'] as const;
export type TransmissionChannel = (typeof TRANSMISSION_CHANNELS)[number];

/** What the rules decided when the message was scanned. */
export const TRANSMISSION_ROUTES = ['approve', 'block', 'direct'] as const;
export type TransmissionRoute = (typeof TRANSMISSION_ROUTES)[number];

/**
 * Why a queued message has not gone out yet (stable codes, shown in the console and the register):
 * the upstream offered no TLS, its certificate did not verify, it could not be reached or refused the
 * message, no relay is configured, or the sender's supervisor (BCC for attachments) is unknown.
 */
export const DELIVERY_ERRORS = ['relay.no_tls', 'relay.bad_certificate', 'relay.unreachable', 'relay.rejected', 'relay.not_configured', 'supervisor.missing'] as const;
export type DeliveryError = (typeof DELIVERY_ERRORS)[number];

/** A DLP finding as the approver, the sender and the register see it: masked, never the value. */
export type TransmissionFinding = { kind: DlpKind; part: string; line: number; excerpt: string; confidence: number };

export type TransmissionView = {
  id: string;
  channel: TransmissionChannel;
  state: TransmissionState;
  route: TransmissionRoute;
  /** Why the rules routed it so (rule ids: `attachments`, `finding:phone`, `block:my_number`, `scan_error`, `external`…). */
  reasons: string[];
  sender: PersonRef;
  senderAddress: string;
  recipients: string[];
  /** Recipients outside the internal domains. */
  external: string[];
  subject: string;
  attachments: { name: string; bytes: number }[];
  bytes: number;
  findings: TransmissionFinding[];
  summary: Partial<Record<DlpKind, number>>;
  scanErrors: { part: string; code: string }[];
  approvalRequestId: string | null;
  approvedBy: PersonRef[];
  /** The supervisor added as BCC at delivery (messages with attachments). */
  bcc: PersonRef | null;
  deliveryError: DeliveryError | null;
  attempts: number;
  nextAttemptAt: string | null;
  provisionRecordId: string | null;
  createdAt: string;
  decidedAt: string | null;
  deliveredAt: string | null;
};

export type TransmissionRules = {
  /** Mail domains of the company: recipients there are internal (sub-domains included). */
  internalDomains: string[];
  /** Finding kinds that block the message outright. */
  blockKinds: DlpKind[];
  /** Finding kinds that count as personal data: the message needs approval. */
  approvalKinds: DlpKind[];
  /** Findings below this confidence are shown but decide nothing. */
  minConfidence: number;
  /** Deliver without approval a message with no attachment, no finding and only internal recipients. */
  directInternal: boolean;
  review: {
    /** Days per review period (7: weekly). */
    periodDays: number;
    /** Percentage of the period's delivered transmissions put in front of the reviewer (100: all). */
    samplePercent: number;
    /** Days after the period's end before an open review is overdue. */
    graceDays: number;
    /** Roles whose holders review (never their own sends or approvals). */
    reviewerRoles: Role[];
  };
};

export type TransmissionRulesView = TransmissionRules & { version: number; updatedAt: string; updatedBy: string | null };

export type ComposeInput = {
  to: string[];
  cc: string[];
  subject: string;
  body: string;
  attachments: { name: string; contentType: string; contentBase64: string }[];
};

export const REVIEW_VERDICTS = ['appropriate', 'inappropriate'] as const;
export type ReviewVerdict = (typeof REVIEW_VERDICTS)[number];

export type TransmissionReviewView = {
  id: string;
  periodStart: string;
  periodEnd: string;
  dueAt: string;
  state: 'open' | 'closed';
  items: number;
  marked: number;
  inappropriate: number;
  overdue: boolean;
  closedAt: string | null;
};

export type TransmissionReviewItemView = {
  transmission: TransmissionView;
  verdict: ReviewVerdict | null;
  note: string;
  markedBy: PersonRef | null;
  markedAt: string | null;
};
