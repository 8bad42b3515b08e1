/**
 * Holding: a message submitted over SMTP or composed in the console is never delivered on
 * submission. It is parsed, scanned (body and every attachment), routed by the rules and stored
 * encrypted, in one transaction with its audit event and — when it needs one — its approval request
 * (kind `transmission`, decided in the approvals engine by a transmission approver). A password-only
 * SMTP submission waits for its sender to confirm it in the console (MFA) before a request is filed.
 */
import type { ApprovalScope, ComposeInput, TransmissionView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError, isAppError } from '../../platform/errors.ts';
import { isUuid, newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { authorizeFiling, cancel as cancelApproval, fileRequest } from '../approvals/index.ts';
import { notify } from '../notifications/index.ts';
import { isMailAddress } from '../outbox/index.ts';
import { buildMime, parseMessage, safeName, sealContent, type ParsedMessage } from './transmissions.content.ts';
import { transmissionsRepository, type TransmissionMeta } from './transmissions.repository.ts';
import { decideRoute, type RouteDecision } from './transmissions.rules.ts';
import { scanParts } from './transmissions.scan.ts';
import { loadRules } from './transmissions.settings.ts';
import { viewOf, viewsOf } from './transmissions.views.ts';

export type RelaySettings = {
  /** `smtps://host:port` (implicit TLS) or `smtp://host:port` (STARTTLS, required). */
  url: string;
  /** PEM CA certificate(s) the upstream must chain to; null → the system roots. */
  ca: string | null;
  auth: { user: string; pass: string } | null;
};

export type TransmissionSettings = {
  /** The upstream relay; null → approved messages stay queued with `relay.not_configured`. */
  relay: RelaySettings | null;
  /** Largest message accepted (MIME bytes: body and attachments encoded). */
  maxBytes: number;
  /** The domain of the Message-ID of composed mail. */
  messageIdDomain: string;
};

export const MAX_RECIPIENTS = 100;
const MAX_ATTACHMENTS = 20;
const MAX_FINDINGS_KEPT = 200;

const invalid = (field: string, message: string) => new AppError('transmission.invalid', message, { field });

/** The sender as stored now: active person with an e-mail address (the From of everything they send). */
async function senderOf(ctx: AppContext, actor: Actor): Promise<{ id: string; email: string; displayName: string }> {
  const u = actor.userId ? await transmissionsRepository(ctx.db).user(actor.userId) : undefined;
  if (!u || u.status !== 'active' || u.kind !== 'person') throw new AppError('auth.required', 'Sign in first.');
  if (!u.email || !isMailAddress(u.email)) throw invalid('from', 'Your account has no e-mail address: ask the administrator to register one before sending mail.');
  return { id: u.id, email: u.email, displayName: u.display_name };
}

function checkRecipients(field: string, list: readonly string[]): string[] {
  const out = [...new Set(list.map((a) => a.trim().toLowerCase()))];
  for (const a of out) if (!isMailAddress(a)) throw invalid(field, 'A recipient is not a valid e-mail address.');
  return out;
}

/** The console's compose page: the form becomes a MIME message, then is held like any other. */
export async function compose(ctx: AppContext, actor: Actor, settings: TransmissionSettings, input: ComposeInput): Promise<TransmissionView> {
  await authorize(ctx, { actor, action: 'transmission.submit' }, { details: { channel: 'console' } });
  const sender = await senderOf(ctx, actor);
  const to = checkRecipients('to', input.to);
  const cc = checkRecipients('cc', input.cc).filter((a) => !to.includes(a));
  if (to.length === 0) throw invalid('to', 'A message needs at least one recipient.');
  if (to.length + cc.length > MAX_RECIPIENTS) throw invalid('to', `At most ${MAX_RECIPIENTS} recipients.`);
  const subject = input.subject.trim();
  if (subject.length === 0 || subject.length > 250 || /[\r\n]/.test(subject)) throw invalid('subject', 'The subject is one line of 1 to 250 characters.');
  if (input.body.length > 1_000_000) throw invalid('body', 'The body is at most 1,000,000 characters.');
  if (input.attachments.length > MAX_ATTACHMENTS) throw invalid('attachments', `At most ${MAX_ATTACHMENTS} attachments.`);
  const attachments = input.attachments.map((a, i) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.contentBase64)) throw invalid(`attachments.${i}`, 'An attachment is not valid base64.');
    const contentType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(a.contentType) ? a.contentType : 'application/octet-stream';
    return { name: safeName(a.name), contentType, content: Buffer.from(a.contentBase64, 'base64') };
  });
  const rawBytes = Buffer.byteLength(input.body) + attachments.reduce((n, a) => n + a.content.length, 0);
  if (rawBytes > settings.maxBytes) throw new AppError('request.too_large', `The message is larger than ${settings.maxBytes} bytes.`, { field: 'attachments', limit: settings.maxBytes });
  const id = newId();
  const raw = await buildMime({ from: sender.email, to, cc, subject, body: input.body, attachments, messageId: `<${id}@${settings.messageIdDomain}>` });
  return hold(ctx, actor, sender, { id, channel: 'console', recipients: [...to, ...cc], raw, confirmed: true });
}

/**
 * SMTP submission (after AUTH over TLS): the envelope names the recipients (Bcc included). The
 * sender may only send as themselves: MAIL FROM and the From header must be their own address.
 */
export async function submitSmtp(ctx: AppContext, actor: Actor, settings: TransmissionSettings, envelope: { from: string; to: readonly string[] }, raw: Buffer): Promise<TransmissionView> {
  await authorize(ctx, { actor, action: 'transmission.submit' }, { details: { channel: 'smtp' } });
  const sender = await senderOf(ctx, actor);
  if (raw.length > settings.maxBytes) throw new AppError('request.too_large', `The message is larger than ${settings.maxBytes} bytes.`, { limit: settings.maxBytes });
  if (envelope.from.toLowerCase() !== sender.email.toLowerCase()) throw invalid('from', 'MAIL FROM must be your own address.');
  const recipients = checkRecipients('to', envelope.to);
  if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS) throw invalid('to', `1 to ${MAX_RECIPIENTS} recipients.`);
  const parsed = await parseMessage(raw);
  if (!parsed.from || parsed.from.toLowerCase() !== sender.email.toLowerCase()) throw invalid('from', 'The From header must be your own address.');
  // A password alone (no second factor) may submit, but only the sender's confirmation with MFA lets it go further.
  return hold(ctx, actor, sender, { id: newId(), channel: 'smtp', recipients, raw, confirmed: actor.mfa, parsed });
}

type Held = { id: string; channel: 'smtp' | 'console'; recipients: string[]; raw: Buffer; confirmed: boolean; parsed?: ParsedMessage };

function approvalScope(sender: { email: string; displayName: string }, t: TransmissionMeta, decision: Pick<RouteDecision, 'reasons'>): ApprovalScope {
  const findings = (t.findings as { kind: string; part: string; line: number; excerpt: string; confidence: number }[])
    .slice(0, 150).map((f) => `${f.kind} ${f.part}:${f.line} ${f.excerpt} (${f.confidence.toFixed(2)})`.slice(0, 200));
  return {
    sender: `${sender.displayName} <${sender.email}>`,
    recipients: t.recipients.map((r) => r.slice(0, 200)),
    external: t.external_recipients.map((r) => r.slice(0, 200)),
    subject: t.subject.slice(0, 2000),
    attachments: (t.attachments as { name: string; bytes: number }[]).map((a) => `${a.name} (${a.bytes} B)`.slice(0, 200)),
    findings: findings.length > 0 ? findings : ['なし / none'],
    reasons: decision.reasons.map(reasonWords),
  };
}

const KIND_WORDS: Record<string, string> = {
  my_number: 'マイナンバー / My Number', corporate_number: '法人番号 / corporate number', phone: '電話番号 / phone', email: 'メールアドレス / e-mail',
  postal_code: '郵便番号 / postal code', address: '住所 / address', credit_card: 'クレジットカード / credit card', bank_account: '銀行口座 / bank account',
  passport: '旅券番号 / passport', drivers_license: '運転免許証番号 / driver\'s licence', vault_match: '登録済み個人データ / vault match',
};

/** A routing reason as approvers read it (the scope is shown as filed, in both languages). */
function reasonWords(r: string): string {
  const [head, arg = ''] = r.split(':');
  if (head === 'finding') return `個人データ: ${KIND_WORDS[arg] ?? arg}`;
  if (head === 'attachments') return '添付ファイルあり / has attachments';
  if (head === 'external') return '社外宛て / external recipients';
  if (head === 'direct_disabled') return '直接送信は無効 / direct sending off';
  return r;
}

function summaryOf(t: Pick<TransmissionMeta, 'attachments' | 'recipients' | 'external_recipients'>): string {
  const a = (t.attachments as unknown[]).length;
  // No subject, no address: the summary goes into notifications and their mail.
  return `メール送信（宛先 ${t.recipients.length} 件・社外 ${t.external_recipients.length} 件・添付 ${a} 件） / Mail to ${t.recipients.length} (${t.external_recipients.length} external), ${a} attachment(s)`;
}

async function hold(ctx: AppContext, actor: Actor, sender: { id: string; email: string; displayName: string }, h: Held): Promise<TransmissionView> {
  const parsed = h.parsed ?? (await parseMessage(h.raw));
  if (parsed.attachments.length > 0 && !(await transmissionsRepository(ctx.db).currentSupervisor(sender.id))) {
    throw new AppError('transmission.no_supervisor', 'Mail with attachments is copied to your supervisor, and none with an e-mail address is registered for you: ask HR or the administrator.');
  }
  const rules = await loadRules(ctx.db, ctx.clock);
  const report = await scanParts(ctx, [parsed.body, ...parsed.attachments], rules.minConfidence, MAX_FINDINGS_KEPT);
  const decision = decideRoute(rules, { report, attachments: parsed.attachments.length, recipients: h.recipients });
  const now = ctx.clock.now();
  const blocked = decision.route === 'block';
  const state = blocked ? 'blocked' as const : !h.confirmed ? 'unconfirmed' as const : decision.route === 'approve' ? 'pending_approval' as const : 'queued' as const;
  if (state === 'pending_approval') await authorizeFiling(ctx, actor, 'transmission');
  const sealed = sealContent(ctx.keyring, h.id, h.raw);
  const row = {
    id: h.id, sender_id: sender.id, sender_address: sender.email, channel: h.channel, state, route: decision.route, reasons: decision.reasons,
    recipients: h.recipients, external_recipients: decision.external, subject: parsed.subject,
    attachments: JSON.stringify(parsed.attachments.map((a) => ({ name: a.name, bytes: a.bytes.length }))), bytes: h.raw.length,
    findings: JSON.stringify(report.findings.slice(0, MAX_FINDINGS_KEPT).map((f) => ({ kind: f.kind, part: f.file, line: f.line, excerpt: f.excerpt, confidence: f.confidence }))),
    summary: JSON.stringify(report.summary), scan_errors: JSON.stringify(report.errors.map((e) => ({ part: e.file, code: e.code }))),
    // A blocked message is never kept: nothing of it can leave later.
    content: blocked ? null : sealed.content, master_key_id: sealed.masterKeyId, wrapped_key: sealed.wrappedKey,
    approval_request_id: null, bcc_user_id: null, next_attempt_at: state === 'queued' ? now : null, claimed_until: null, delivery_error: null,
    created_at: now, decided_at: blocked || state === 'queued' ? now : null, delivered_at: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    const repo = transmissionsRepository(tx);
    await repo.insert(row);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'transmission.submit', decision: 'allow', rule: 'transmission.hold', reason: `Message held: ${decision.route}`, result: 'ok',
      details: {
        transmissionId: h.id, channel: h.channel, state, route: decision.route, reasons: decision.reasons, recipients: h.recipients.length,
        external: decision.external.length, attachments: parsed.attachments.length, bytes: h.raw.length, findings: report.summary, scanErrors: report.errors.map((e) => e.code),
      },
    });
    if (state === 'pending_approval') await fileFor(ctx, tx, actor, sender, h.id, decision);
    if (blocked) await notify(tx, ctx.clock, [sender.id], { kind: 'transmission.blocked', params: { transmissionId: h.id, cause: decision.reasons.join(', ') }, link: `/transmissions/mine?transmission=${h.id}` });
  });
  return viewOf(ctx.db, (await transmissionsRepository(ctx.db).get(h.id))!);
}

/** Files the approval request in the caller's transaction and links it to the transmission. */
async function fileFor(ctx: AppContext, tx: Executor, actor: Actor, sender: { email: string; displayName: string }, id: string, decision: Pick<RouteDecision, 'reasons'>): Promise<void> {
  const repo = transmissionsRepository(tx);
  const t = (await repo.get(id))!;
  const request = await fileRequest(ctx, tx, actor, { kind: 'transmission', summary: summaryOf(t), scope: approvalScope(sender, t, decision), subjectRef: id });
  await repo.transition(id, ['pending_approval'], { approval_request_id: request.id });
}

/** The sender confirms a password-only SMTP submission (with MFA): it then goes on as the rules said. */
export async function confirm(ctx: AppContext, actor: Actor, id: string): Promise<TransmissionView> {
  const t = isUuid(id) ? await transmissionsRepository(ctx.db).get(id) : undefined;
  const d = await authorize(ctx, { actor, action: 'transmission.submit', transmissionSenderId: t?.sender_id ?? '' }, { details: { transmissionId: id.slice(0, 64), phase: 'confirm' } });
  if (!t) throw new AppError('not_found', 'No such transmission.');
  if (t.state !== 'unconfirmed') throw new AppError('transmission.closed', 'This message is not waiting for your confirmation.', { state: t.state });
  const sender = await senderOf(ctx, actor);
  if (t.route === 'approve') await authorizeFiling(ctx, actor, 'transmission');
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const repo = transmissionsRepository(tx);
    const next = t.route === 'approve' ? 'pending_approval' as const : 'queued' as const;
    if (!(await repo.transition(id, ['unconfirmed'], next === 'queued' ? { state: next, next_attempt_at: now, decided_at: now } : { state: next }))) {
      throw new AppError('transmission.closed', 'This message changed meanwhile.');
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'transmission.submit', decision: 'allow', rule: d.rule, reason: 'Sender confirmed the message', result: 'ok',
      details: { transmissionId: id, phase: 'confirm', from: 'unconfirmed', to: next, route: t.route },
    });
    if (next === 'pending_approval') await fileFor(ctx, tx, actor, sender, id, { reasons: t.reasons });
  });
  return viewOf(ctx.db, (await transmissionsRepository(ctx.db).get(id))!);
}

/** The sender withdraws a message not yet approved; its content is deleted at once. */
export async function cancelTransmission(ctx: AppContext, actor: Actor, id: string): Promise<TransmissionView> {
  const t = isUuid(id) ? await transmissionsRepository(ctx.db).get(id) : undefined;
  const d = await authorize(ctx, { actor, action: 'transmission.cancel', transmissionSenderId: t?.sender_id ?? '' }, { details: { transmissionId: id.slice(0, 64) } });
  if (!t) throw new AppError('not_found', 'No such transmission.');
  const done = await ctx.db.transaction().execute(async (tx) => {
    if (!(await transmissionsRepository(tx).transition(id, ['unconfirmed', 'pending_approval'], { state: 'cancelled', content: null, decided_at: ctx.clock.now() }))) return false;
    await appendAudit(tx, ctx.clock, actor, {
      action: 'transmission.cancel', decision: 'allow', rule: d.rule, reason: 'Sender cancelled the message', result: 'ok', details: { transmissionId: id, from: t.state, to: 'cancelled' },
    });
    return true;
  });
  if (!done) throw new AppError('transmission.closed', 'This message can no longer be cancelled (approved, delivered or closed).', { state: t.state });
  if (t.approval_request_id) {
    try {
      await cancelApproval(ctx, actor, t.approval_request_id, 'Transmission cancelled by its sender');
    } catch (e) {
      // Decided meanwhile: the transmission is cancelled all the same and the approval is never used.
      if (!isAppError(e) || e.code !== 'approval.closed') throw e;
    }
  }
  return viewOf(ctx.db, (await transmissionsRepository(ctx.db).get(id))!);
}

export async function myTransmissions(ctx: AppContext, actor: Actor, limit = 200): Promise<TransmissionView[]> {
  await authorize(ctx, { actor, action: 'transmission.read' });
  if (!actor.userId) return [];
  return viewsOf(ctx.db, await transmissionsRepository(ctx.db).bySender(actor.userId, limit));
}

export async function getTransmission(ctx: AppContext, actor: Actor, id: string): Promise<TransmissionView> {
  const t = isUuid(id) ? await transmissionsRepository(ctx.db).get(id) : undefined;
  await authorize(ctx, { actor, action: 'transmission.read', transmissionSenderId: t?.sender_id ?? '' }, { details: { transmissionId: id.slice(0, 64) } });
  if (!t) throw new AppError('not_found', 'No such transmission.');
  return viewOf(ctx.db, t);
}
