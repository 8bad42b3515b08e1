import type { Action, Classification, Role } from '@mamori/contracts';
import type { Actor } from '../identity/index.ts';

export type FieldPolicyView = { name: string; classification: Classification };

export type DatasetPolicyView = {
  id: string;
  ownerUserId: string;
  purposes: readonly string[];
  fields: readonly FieldPolicyView[];
};

export type PolicyRequest = {
  actor: Actor;
  action: Action;
  now: Date;
  /** Present for every action on a dataset or its records. */
  dataset?: DatasetPolicyView;
  /** Fields the request reads, unmasks or writes (for unmask: exactly one). */
  fields?: readonly string[];
  purpose?: string | null;
  /** Present for actions on one approval request: who filed it and what the policy says of the actor. */
  approval?: ApprovalPolicyContext;
  /** Present for actions on one extraction: the person who requested it. */
  extractionRequesterId?: string;
  /** Present for actions on one transmission (read, cancel, confirm): the person who sent it. */
  transmissionSenderId?: string;
  /** Present for review actions: who reviews (configured roles) and whether the actor sent or approved the item. */
  transmissionReview?: { reviewerRoles: readonly Role[]; party: boolean };
};

/**
 * What the approvals service tells the engine about one request and the actor: the requester, whether
 * the actor is eligible to decide it under its policy (roles, groups, the requester's supervisor;
 * active; not a dispatch worker), and whether the actor is one of the kind's break-glass few.
 */
export type ApprovalPolicyContext = {
  requesterUserId: string;
  eligible: boolean;
  breakGlassAllowed: boolean;
};

/** How a field appears in a response: in clear, masked, or not at all (absent from the map). */
export type FieldVisibility = 'plain' | 'masked';

export type Decision = {
  effect: 'allow' | 'deny';
  /** Stable identifier of the rule that decided: audited and shown to people. */
  rule: string;
  reason: { ja: string; en: string };
  /** For reads: each visible field and how it is shown. */
  visible: ReadonlyMap<string, FieldVisibility>;
  /** Grants the decision relied on (audited). */
  grantIds: readonly string[];
};
