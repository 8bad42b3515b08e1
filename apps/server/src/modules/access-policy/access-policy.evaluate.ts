/**
 * The policy engine: a pure function from (actor, action, resource, purpose, time) to a decision
 * with a reason people can read. Deny by default; a deny rule overrides any allow (dispatch workers
 * never see personal-level fields, whatever grants, groups or roles say).
 */
import { isPersonalLevel, type Action, type Role } from '@mamori/contracts';
import type { GrantView } from '../identity/index.ts';
import type { Decision, FieldVisibility, PolicyRequest } from './access-policy.types.ts';

const NONE: ReadonlyMap<string, FieldVisibility> = new Map();

function deny(rule: string, ja: string, en: string): Decision {
  return { effect: 'deny', rule, reason: { ja, en }, visible: NONE, grantIds: [] };
}

function allow(rule: string, ja: string, en: string, visible: ReadonlyMap<string, FieldVisibility> = NONE, grantIds: readonly string[] = []): Decision {
  return { effect: 'allow', rule, reason: { ja, en }, visible, grantIds };
}

/** Operator actions and the roles that may perform them. Personal-data actions are not here. */
const ROLE_RULES: Partial<Record<Action, readonly Role[]>> = {
  'user.create': ['administrator', 'hr'],
  'user.update': ['administrator', 'hr'],
  'user.read': ['administrator', 'hr', 'cpo', 'auditor', 'security_center', 'data_owner'],
  'user.status.change': ['administrator', 'hr'],
  'token.create': ['administrator'],
  'token.revoke': ['administrator'],
  'session.revoke': ['administrator', 'security_center'],
  'dataset.create': ['administrator', 'cpo'],
  'dataset.key.rotate': ['administrator'],
  'grant.read': ['cpo', 'auditor', 'security_center', 'data_owner', 'administrator'],
  'audit.read': ['auditor', 'security_center', 'cpo'],
  // A one-off export hands the log's contents out: the same people who may read it.
  'audit.export': ['auditor', 'security_center', 'cpo'],
  // The exporters' cursors and errors are operations, not the log's contents: administrators too.
  'audit.exports.read': ['security_center', 'auditor', 'cpo', 'administrator'],
  // The log's integrity (checkpoints, witnesses, verification runs) shows no event: the
  // administrator who runs the system may check it without reading the log itself.
  'audit.integrity.read': ['auditor', 'security_center', 'cpo', 'administrator'],
  'audit.verify': ['auditor', 'security_center', 'cpo', 'administrator'],
  'ledger.read': ['cpo', 'auditor', 'security_center', 'data_owner'],
  'approval.policy.read': ['administrator', 'cpo', 'auditor', 'security_center'],
  'approval.policy.update': ['administrator', 'cpo'],
  'approval.history.read': ['cpo', 'auditor', 'security_center'],
  'outbox.read': ['administrator', 'security_center'],
  // Monitoring: the security center (and administrators) act on alerts; auditors and the CPO watch.
  'alert.read': ['security_center', 'administrator', 'auditor', 'cpo'],
  'alert.update': ['security_center', 'administrator'],
  'monitor.rules.read': ['security_center', 'administrator', 'auditor', 'cpo'],
  'monitor.rules.update': ['security_center', 'administrator'],
  'scim.client.manage': ['administrator'],
  'scim.log.read': ['administrator', 'hr', 'security_center', 'auditor'],
  // Joiners, movers and leavers as a timeline: who runs and who oversees identity changes.
  'lifecycle.read': ['administrator', 'hr', 'security_center', 'auditor', 'cpo'],
  'extraction.trace': ['security_center', 'cpo', 'auditor'],
  'suppression.read': ['cpo', 'security_center', 'auditor'],
  'suppression.manage': ['cpo', 'security_center'],
  'provision.read': ['cpo', 'auditor'],
  // What went where, when, approved by whom: the security center, the CPO, auditors and the approvers.
  'transmission.register.read': ['security_center', 'cpo', 'auditor', 'transmission_approver'],
  'transmission.rules.read': ['security_center', 'cpo', 'auditor', 'administrator', 'transmission_approver'],
  'transmission.rules.update': ['security_center', 'cpo'],
};

/** What the local operator (offline CLI on the server's own data folder) may do: never read personal data. */
const SYSTEM_ACTIONS: ReadonlySet<Action> = new Set([
  'user.create',
  'user.update',
  'user.read',
  'user.status.change',
  'token.create',
  'token.revoke',
  'session.revoke',
  'dataset.create',
  'dataset.read',
  'dataset.key.rotate',
  'grant.read',
  'audit.read',
  'audit.export',
  'audit.exports.read',
  'audit.integrity.read',
  'audit.verify',
  'ledger.read',
  'record.import',
  'approval.expire',
  'approval.consume',
  'approval.policy.read',
  'approval.policy.update',
  'outbox.read',
  // Raised by the monitor job itself (the local system actor); no person raises alerts.
  'alert.raise',
  'scim.client.manage',
  'scim.log.read',
  'lifecycle.read',
  'extraction.run',
  'extraction.trace',
  // The delivery worker and the review job act as the local system; they never show a message to anyone.
  'transmission.deliver',
  'transmission.rules.read',
  'transmission.review.open',
]);

// Passkey registration, verification and removal are one's own authentication too; the identity
// service adds what depends on the session (a second passkey or a removal needs a verified session).
const AUTH_ACTIONS: ReadonlySet<Action> = new Set(['auth.login', 'auth.logout', 'auth.password.change', 'auth.mfa.enroll', 'auth.mfa.verify', 'auth.passkey.register', 'auth.passkey.verify', 'auth.passkey.remove']);

const RECORD_READS: ReadonlySet<Action> = new Set(['record.search', 'record.read', 'record.unmask']);
const RECORD_WRITES: ReadonlySet<Action> = new Set(['record.create', 'record.update', 'record.delete', 'record.import']);

function activeGrants(grants: readonly GrantView[], datasetId: string, now: Date): GrantView[] {
  const t = now.getTime();
  return grants.filter(
    (g) => g.status === 'active' && g.datasetId === datasetId && g.validFrom.getTime() <= t && t < g.validUntil.getTime(),
  );
}

export function evaluate(req: PolicyRequest): Decision {
  const { actor, action } = req;

  if (actor.status !== 'active') {
    return deny('actor.inactive', '利用者が有効ではありません（退職または停止）。', 'The user is not active (retired or suspended).');
  }
  if (AUTH_ACTIONS.has(action)) {
    return allow('auth.self', '本人の認証操作です。', 'Authentication of oneself.');
  }
  if (actor.passwordChangeRequired) {
    return deny('actor.password_change_required', '初期パスワードの変更が必要です。', 'The one-time password must be changed first.');
  }

  // SCIM calls: only a SCIM client's own credential, and that credential does nothing else.
  if (action === 'scim.read' || action === 'scim.provision') {
    return actor.kind === 'service' && actor.scimClientId
      ? allow('scim.client', 'SCIMクライアント（IdP・人事システム）によるプロビジョニングです。', 'Provisioning by a SCIM client (IdP or HR system).')
      : deny('scim.client_only', 'SCIMの操作はSCIMクライアントのトークンでのみ行えます。', 'SCIM operations need a SCIM client token.');
  }
  if (actor.scimClientId) {
    return deny('scim.scope', 'SCIMトークンはSCIM以外の操作に使えません。', 'A SCIM token is valid for SCIM only.');
  }

  if (actor.kind === 'system') {
    return SYSTEM_ACTIONS.has(action)
      ? allow('system.operator', 'サーバー運用者のローカル操作です。', 'Local operator command on the server.')
      : deny('system.no_personal_data', '運用者コマンドは個人データを閲覧できません。', 'Operator commands cannot read personal data.');
  }

  const personalRequested = req.dataset
    ? (req.fields ?? []).some((f) => {
        const field = req.dataset!.fields.find((x) => x.name === f);
        return field !== undefined && isPersonalLevel(field.classification);
      })
    : false;

  if (RECORD_READS.has(action) || RECORD_WRITES.has(action) || action === 'extraction.request') {
    return evaluateRecordAction(req, personalRequested);
  }
  if (action === 'extraction.read' || action === 'extraction.download') return evaluateExtractionAction(req);

  if (APPROVAL_ACTIONS.has(action)) return evaluateApprovalAction(req);
  if (TRANSMISSION_ACTIONS.has(action)) return evaluateTransmissionAction(req);

  if (action === 'dataset.read') {
    return allow('dataset.metadata', 'データセットの定義（項目名と分類）は全員が参照できます。', 'Dataset definitions (field names and classes) are visible to all users.');
  }

  if (action === 'grant.create' || action === 'grant.revoke') {
    if (!actor.mfa) return mfaRequired();
    if (actor.roles.includes('cpo')) return allow('grant.cpo', 'CPOは取扱者を指定できます。', 'The CPO may designate handlers.');
    if (actor.roles.includes('data_owner') && req.dataset && req.dataset.ownerUserId === actor.userId) {
      return allow('grant.owner', 'データオーナーは自分のデータセットの取扱者を指定できます。', 'A data owner may designate handlers of their own dataset.');
    }
    return deny('grant.not_owner', '取扱者の指定はデータセットのオーナーまたはCPOのみが行えます。', 'Only the dataset owner or the CPO may designate handlers.');
  }

  const roles = ROLE_RULES[action];
  if (roles) {
    if (!actor.roles.some((r) => roles.includes(r))) {
      return deny('role.missing', `この操作には次のいずれかの役割が必要です: ${roles.join(', ')}`, `This action needs one of the roles: ${roles.join(', ')}`);
    }
    if (!actor.mfa) return mfaRequired();
    return allow('role.allowed', '役割により許可されています。', 'Allowed by role.');
  }
  return deny('default.deny', '許可する規則がありません（既定で拒否）。', 'No rule allows this (deny by default).');
}

const APPROVAL_ACTIONS: ReadonlySet<Action> = new Set([
  'approval.request', 'approval.read', 'approval.decide', 'approval.cancel', 'approval.consume', 'approval.expire',
  'approval.break_glass', 'approval.review.close', 'notification.read',
]);

/** Roles that oversee approvals: they may read any request, and (except the auditor) close break-glass reviews. */
const APPROVAL_OVERSIGHT: readonly Role[] = ['cpo', 'auditor', 'security_center'];
const REVIEW_CLOSERS: readonly Role[] = ['cpo', 'security_center'];

/**
 * The two-person rule. The self-check comes before anything a role could allow: the requester of a
 * request never decides it, whatever roles they hold (administrators and holders of every role too),
 * and no setting reaches this line.
 */
function evaluateApprovalAction(req: PolicyRequest): Decision {
  const { actor, action, approval } = req;
  if (action === 'notification.read') {
    return actor.kind === 'user' ? allow('notification.own', '自分の通知です。', 'Your own notifications.') : deny('notification.person_only', '通知は利用者本人のものです。', 'Notifications belong to a person.');
  }
  if (action === 'approval.expire') {
    return deny('approval.system_only', '期限切れの処理はシステムが行います。', 'Only the system expires requests.');
  }
  const isRequester = approval !== undefined && actor.userId !== null && actor.userId === approval.requesterUserId;
  if (action === 'approval.decide') {
    if (!approval) return deny('approval.context_required', '申請が指定されていません。', 'No request given.');
    if (actor.userId === null || isRequester) {
      return deny('approval.self', '自分の申請を承認・却下することはできません（二人制）。', 'You cannot decide your own request (two-person rule).');
    }
    if (actor.kind !== 'user') return deny('approval.person_only', '承認は本人が行います。', 'Approvals are given by people.');
    if (!approval.eligible) return deny('approval.not_eligible', 'この申請の承認者ではありません。', 'You are not an eligible approver of this request.');
    if (!actor.mfa) return mfaRequired();
    return allow('approval.eligible', '承認ポリシーにより承認者です。', 'Eligible approver under the approval policy.');
  }
  if (action === 'approval.review.close') {
    if (isRequester) return deny('approval.self_review', '自分の緊急承認を事後確認することはできません。', 'You cannot review your own break-glass use.');
    if (!actor.roles.some((r) => REVIEW_CLOSERS.includes(r))) {
      return deny('role.missing', `この操作には次のいずれかの役割が必要です: ${REVIEW_CLOSERS.join(', ')}`, `This action needs one of the roles: ${REVIEW_CLOSERS.join(', ')}`);
    }
    if (!actor.mfa) return mfaRequired();
    return allow('approval.reviewer', '事後確認を行う役割です。', 'Your role reviews break-glass use.');
  }
  if (actor.kind !== 'user') return deny('approval.person_only', '申請は本人が行います。', 'Requests are made by people.');
  switch (action) {
    case 'approval.request':
      if (!actor.mfa) return mfaRequired();
      return allow('approval.file', '申請は誰でも行えます。', 'Anyone may file a request.');
    case 'approval.read':
      // Without a request: one's own lists ("my requests", "waiting for me"). With one: its parties and overseers.
      if (!approval || isRequester || approval.eligible) return allow('approval.party', '申請の当事者です。', 'You are a party to the request.');
      if (actor.roles.some((r) => APPROVAL_OVERSIGHT.includes(r))) return allow('approval.oversight', '承認を監督する役割です。', 'Your role oversees approvals.');
      return deny('approval.not_party', 'この申請の当事者ではありません。', 'You are not a party to this request.');
    case 'approval.cancel':
    case 'approval.consume':
      if (!isRequester) return deny('approval.not_requester', '申請者本人のみが行えます。', 'Only the requester may do this.');
      if (!actor.mfa) return mfaRequired();
      return allow('approval.requester', '申請者本人です。', 'You filed this request.');
    case 'approval.break_glass':
      if (!isRequester) return deny('approval.not_requester', '申請者本人のみが行えます。', 'Only the requester may do this.');
      if (!approval?.breakGlassAllowed) return deny('approval.break_glass_not_allowed', '緊急承認（ブレークグラス）を許可されていません。', 'You are not allowed to break glass for this kind.');
      if (!actor.mfa) return mfaRequired();
      return allow('approval.break_glass', '緊急承認を許可された利用者です。', 'You are allowed to break glass for this kind.');
    default:
      return deny('default.deny', '許可する規則がありません（既定で拒否）。', 'No rule allows this (deny by default).');
  }
}

/**
 * An extraction's file goes to its requester only (never to an approver, an administrator or the
 * CPO); its metadata is readable by the requester and by those who oversee extractions.
 */
function evaluateExtractionAction(req: PolicyRequest): Decision {
  const { actor, action, extractionRequesterId } = req;
  if (actor.kind !== 'user' || actor.userId === null) return deny('extraction.person_only', '抽出は本人が行います。', 'Extractions belong to a person.');
  const own = extractionRequesterId === undefined || extractionRequesterId === actor.userId;
  if (action === 'extraction.download') {
    if (extractionRequesterId === undefined || !own) return deny('extraction.not_requester', '抽出ファイルは申請者本人のみが受け取れます。', 'Only the requester may download the extraction.');
    if (!actor.mfa) return mfaRequired();
    return allow('extraction.requester', '申請者本人です。', 'You requested this extraction.');
  }
  if (own) return allow('extraction.own', '自分の抽出です。', 'Your own extraction.');
  if (actor.roles.some((r) => APPROVAL_OVERSIGHT.includes(r))) return allow('extraction.oversight', '抽出を監督する役割です。', 'Your role oversees extractions.');
  return deny('extraction.not_party', 'この抽出の当事者ではありません。', 'You are not a party to this extraction.');
}

const TRANSMISSION_ACTIONS: ReadonlySet<Action> = new Set(['transmission.submit', 'transmission.read', 'transmission.cancel', 'transmission.review.read', 'transmission.review.mark']);
const TRANSMISSION_OVERSIGHT: readonly Role[] = ['security_center', 'cpo', 'auditor'];

/**
 * Outbound transmissions. Anyone may submit (the message is only held: scanning, the rules and an
 * approver decide what leaves); a password-only SMTP submission waits for its sender to confirm it
 * with MFA. A message is read by its sender and by overseers; the periodic review is done by the
 * configured reviewer roles, never on a transmission the reviewer sent or approved.
 */
function evaluateTransmissionAction(req: PolicyRequest): Decision {
  const { actor, action, transmissionSenderId, transmissionReview } = req;
  if (actor.kind !== 'user' || actor.userId === null) return deny('transmission.person_only', '送信は本人が行います。', 'Transmissions belong to a person.');
  const own = transmissionSenderId !== undefined && transmissionSenderId === actor.userId;
  switch (action) {
    case 'transmission.submit':
      if (transmissionSenderId === undefined) return allow('transmission.hold', '送信は保留され、検査・承認の後に配送されます。', 'The message is held, scanned and approved before it is delivered.');
      if (!own) return deny('transmission.not_sender', '送信者本人のみが確認できます。', 'Only the sender may confirm this message.');
      if (!actor.mfa) return mfaRequired();
      return allow('transmission.sender', '送信者本人です。', 'You sent this message.');
    case 'transmission.cancel':
      if (!own) return deny('transmission.not_sender', '送信者本人のみが取り消せます。', 'Only the sender may cancel this message.');
      if (!actor.mfa) return mfaRequired();
      return allow('transmission.sender', '送信者本人です。', 'You sent this message.');
    case 'transmission.read':
      if (transmissionSenderId === undefined || own) return allow('transmission.own', '自分の送信です。', 'Your own transmissions.');
      if (actor.roles.some((r) => TRANSMISSION_OVERSIGHT.includes(r))) return allow('transmission.oversight', '送信を監督する役割です。', 'Your role oversees transmissions.');
      return deny('transmission.not_party', 'この送信の当事者ではありません。', 'You are not a party to this transmission.');
    case 'transmission.review.read':
    case 'transmission.review.mark': {
      const reviewer = actor.roles.some((r) => (transmissionReview?.reviewerRoles ?? []).includes(r));
      if (action === 'transmission.review.read' && !reviewer && !actor.roles.some((r) => TRANSMISSION_OVERSIGHT.includes(r))) {
        return deny('role.missing', '送信の定期確認を閲覧する役割がありません。', 'Your role does not see the transmission reviews.');
      }
      if (action === 'transmission.review.mark') {
        if (!reviewer) return deny('transmission.not_reviewer', '送信の定期確認を行う役割ではありません。', 'You are not a designated transmission reviewer.');
        if (transmissionReview?.party) return deny('transmission.review_own', '自分が送信または承認した送信は確認できません。', 'You cannot review a transmission you sent or approved.');
      }
      if (!actor.mfa) return mfaRequired();
      return allow('transmission.reviewer', '送信の定期確認を行う役割です。', 'Your role reviews transmissions.');
    }
    default:
      return deny('default.deny', '許可する規則がありません（既定で拒否）。', 'No rule allows this (deny by default).');
  }
}

function mfaRequired(): Decision {
  return deny('mfa.required', '多要素認証（TOTP またはパスキー）が必要です。', 'Multi-factor authentication (TOTP or a passkey) is required.');
}

function evaluateRecordAction(req: PolicyRequest, personalRequested: boolean): Decision {
  const { actor, action, dataset, now } = req;
  if (!dataset) return deny('dataset.required', 'データセットが指定されていません。', 'No dataset given.');
  const isDispatch = actor.employmentType === 'dispatch';

  // Deny overrides: a dispatch worker asking for a personal-level field is refused outright.
  if (isDispatch && personalRequested) {
    return deny('dispatch.no_personal', '派遣社員は個人情報を取り扱えません。', 'Dispatch workers cannot handle personal data.');
  }

  const isRead = RECORD_READS.has(action) || action === 'extraction.request';
  const purpose = req.purpose ?? null;
  if (isRead) {
    if (!purpose) return deny('purpose.required', '利用目的の指定が必要です。', 'A purpose of use is required.');
    if (!dataset.purposes.includes(purpose)) {
      return deny('purpose.not_registered', 'この利用目的はデータセットに登録されていません。', 'This purpose is not registered for the dataset.');
    }
  }

  let grants = activeGrants(actor.grants, dataset.id, now);
  if (isRead) grants = grants.filter((g) => g.purposes.includes(purpose!));
  else grants = grants.filter((g) => g.canWrite);
  if (grants.length === 0) {
    return isRead
      ? deny('grant.none', 'この利用目的でこのデータセットを取り扱う指定（取扱者登録）がありません。', 'You are not designated to handle this dataset for this purpose.')
      : deny('grant.no_write', 'このデータセットへの書き込み権限がありません。', 'You have no write grant on this dataset.');
  }
  const grantIds = grants.map((g) => g.id);

  const granted = new Set<string>();
  const unmaskable = new Set<string>();
  for (const g of grants) {
    for (const f of g.fields) granted.add(f);
    // Unmasking rests on one grant naming the field both to see and to unmask.
    for (const f of g.unmaskFields) if (g.fields.includes(f)) unmaskable.add(f);
  }
  const visible = new Map<string, FieldVisibility>();
  for (const f of dataset.fields) {
    if (!granted.has(f.name)) continue;
    const personal = isPersonalLevel(f.classification);
    if (personal && isDispatch) continue; // deny overrides allow, also for fields granted by a group
    visible.set(f.name, personal ? 'masked' : 'plain');
  }
  let needsMfa = personalRequested;
  for (const v of visible.values()) if (v === 'masked') needsMfa = true;
  // API tokens carry mfa (issued by an MFA-verified administrator); sessions need a TOTP verification.
  if (needsMfa && !actor.mfa) return mfaRequired();

  if (action === 'record.unmask') {
    const field = req.fields?.[0];
    const cls = field === undefined ? undefined : dataset.fields.find((f) => f.name === field)?.classification;
    if (field === undefined || cls === undefined) return deny('field.unknown', '項目が存在しません。', 'No such field.');
    if (!isPersonalLevel(cls)) return deny('field.not_personal', '個人情報ではない項目はマスクされていません。', 'Only personal fields are masked.');
    if (!unmaskable.has(field) || !visible.has(field)) {
      return deny('grant.no_unmask', 'この項目のマスク解除は許可されていません。', 'Unmasking this field is not granted to you.');
    }
    return allow('grant.unmask', '取扱者登録により、この項目のマスク解除が許可されています。', 'Your handler grant allows unmasking this field.', new Map([[field, 'plain']]), grantIds);
  }

  if (!isRead) {
    const missing = (req.fields ?? []).filter((f) => !granted.has(f));
    if (missing.length > 0) {
      return deny('grant.field_missing', `次の項目への書き込み権限がありません: ${missing.join(', ')}`, `No write grant for the fields: ${missing.join(', ')}`);
    }
    return allow('grant.write', '書き込み権限のある取扱者です。', 'Designated handler with write access.', visible, grantIds);
  }
  if (action === 'extraction.request') {
    // An extraction takes the named fields out in clear: every one must be granted for this purpose.
    const missing = (req.fields ?? []).filter((f) => !visible.has(f));
    if (missing.length > 0 || (req.fields ?? []).length === 0) {
      return deny('grant.field_missing', `次の項目を取り扱う指定がありません: ${missing.join(', ')}`, `You are not designated for the fields: ${missing.join(', ')}`);
    }
    if (!actor.mfa) return mfaRequired();
    return allow('grant.extract', '取扱者登録と利用目的により抽出を申請できます（承認が必要です）。', 'Your handler grant allows requesting this extraction (approval required).', visible, grantIds);
  }
  return allow('grant.read', '取扱者登録と利用目的により許可されています。', 'Allowed by your handler grant for this purpose.', visible, grantIds);
}
