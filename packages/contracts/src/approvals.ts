/** Approvals (two-person rule, 承認) and the in-app inbox: vocabulary and wire shapes. */
import type { Role } from './domain.ts';

/**
 * Request kinds. Each has one approval policy. `general` is the written request for something done
 * outside Mamori (taking a document out, using removable media once): filed and used in the console.
 * The other kinds are filed by their own modules (extraction, transmissions, device take-out, custody).
 */
export const APPROVAL_KINDS = ['extraction', 'transmission', 'device_takeout', 'custody_return', 'general'] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

export const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'cancelled', 'expired', 'consumed'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** What an approver sees of the thing to approve: names, counts and choices, never personal data. */
export type ScopeValue = string | number | boolean | string[];
export type ApprovalScope = Record<string, ScopeValue>;

export type ApprovalPolicyView = {
  kind: ApprovalKind;
  requiredApprovals: number;
  rejectionsToEnd: number;
  eligibleRoles: Role[];
  eligibleGroupIds: string[];
  requesterSupervisor: boolean;
  requestTtlMinutes: number;
  grantMaxMinutes: number;
  breakGlassUserIds: string[];
  updatedAt: string;
  updatedBy: string | null;
  version: number;
};

export type ApprovalPolicyInput = Omit<ApprovalPolicyView, 'kind' | 'updatedAt' | 'updatedBy' | 'version'> & { version?: number };

export type PersonRef = { id: string; login: string; displayName: string };

export type ApprovalDecisionView = {
  approver: PersonRef;
  decision: 'approve' | 'reject';
  reason: string;
  decidedAt: string;
  /** False when the approval no longer counts: approver retired, suspended, no longer eligible, or withdrawn. */
  counts: boolean;
  withdrawnAt: string | null;
};

export type ApprovalRequestView = {
  id: string;
  kind: ApprovalKind;
  /** The state as of now: a pending or approved request past its deadline reads as expired even before the job records it. */
  state: ApprovalState;
  requester: PersonRef;
  summary: string;
  scope: ApprovalScope;
  subjectRef: string | null;
  requiredApprovals: number;
  rejectionsToEnd: number;
  approvals: number;
  rejections: number;
  createdAt: string;
  expiresAt: string;
  approvedAt: string | null;
  validUntil: string | null;
  closedAt: string | null;
  consumedAt: string | null;
  breakGlass: { reason: string; reviewId: string | null; reviewClosedAt: string | null } | null;
  decisions: ApprovalDecisionView[];
};

export type BreakGlassReviewView = {
  id: string;
  requestId: string;
  kind: ApprovalKind;
  requester: PersonRef;
  summary: string;
  reason: string;
  openedAt: string;
  closedAt: string | null;
  closedBy: PersonRef | null;
  note: string | null;
};

export const NOTIFICATION_KINDS = [
  'approval.requested',
  'approval.approved',
  'approval.rejected',
  'approval.decision',
  'approval.cancelled',
  'approval.expired',
  'approval.break_glass',
  'grant.suspended',
  'identity.leaver_alert',
  'transmission.blocked',
  'transmission.delivered',
  'transmission.delivery_failed',
  'transmission.review_due',
  'transmission.review_overdue',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type NotificationView = {
  id: string;
  kind: NotificationKind;
  title: { ja: string; en: string };
  body: { ja: string; en: string };
  /** A console path (never carrying personal data). */
  link: string | null;
  createdAt: string;
  readAt: string | null;
};
