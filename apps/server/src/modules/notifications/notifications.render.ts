/**
 * The words of each notification, in Japanese and English, made from its kind and parameters. One
 * place for the in-app inbox and (once the outbox lands) the e-mail, so both say the same thing.
 * Parameters are ids, kinds, counts and the words people wrote for a decision: never personal data.
 */
import type { NotificationKind } from '@mamori/contracts';

export type NotificationParams = {
  requestId?: string;
  requestKind?: string;
  summary?: string;
  reason?: string;
  by?: string;
  approvals?: number;
  required?: number;
  decision?: 'approve' | 'reject';
  /** Lifecycle notices: how many grants or events, and why (a fixed cause code, never personal data). */
  count?: number;
  cause?: string;
  /** Transmissions: the message and the review (ids only). */
  transmissionId?: string;
  reviewId?: string;
};

type Words = { title: string; body: string };

const KIND_JA: Record<string, string> = {
  extraction: 'データ抽出', transmission: '外部送信', device_takeout: '機器の持ち出し', custody_return: '保管物の返却', general: '一般申請',
};
const KIND_EN: Record<string, string> = {
  extraction: 'extraction', transmission: 'transmission', device_takeout: 'device take-out', custody_return: 'custody return', general: 'general request',
};

const CAUSE_JA: Record<string, string> = { mover: '異動（部署または上長の変更）', dispatch: '派遣社員への区分変更', leaver: '退職・無効化' };
const CAUSE_EN: Record<string, string> = { mover: 'transfer: department or manager changed', dispatch: 'became a dispatch worker', leaver: 'left or was deactivated' };

export function renderNotification(kind: NotificationKind, p: NotificationParams): { ja: Words; en: Words } {
  const kj = KIND_JA[p.requestKind ?? ''] ?? p.requestKind ?? '';
  const ke = KIND_EN[p.requestKind ?? ''] ?? p.requestKind ?? '';
  const s = p.summary ?? '';
  const reason = p.reason ? p.reason : '';
  switch (kind) {
    case 'approval.requested':
      return {
        ja: { title: `承認依頼: ${kj}`, body: `${p.by ?? ''} さんから承認の依頼があります。「${s}」 内容を確認して承認または却下してください。` },
        en: { title: `Approval requested: ${ke}`, body: `${p.by ?? ''} asks for your approval: "${s}". Review the scope, then approve or reject.` },
      };
    case 'approval.approved':
      return {
        ja: { title: `承認されました: ${kj}`, body: `「${s}」が承認されました（${p.by ?? ''}）。有効期限内に一度だけ利用できます。${reason ? ` 理由: ${reason}` : ''}` },
        en: { title: `Approved: ${ke}`, body: `"${s}" was approved (${p.by ?? ''}). It can be used once, before it lapses.${reason ? ` Reason: ${reason}` : ''}` },
      };
    case 'approval.rejected':
      return {
        ja: { title: `却下されました: ${kj}`, body: `「${s}」が却下されました（${p.by ?? ''}）。理由: ${reason}` },
        en: { title: `Rejected: ${ke}`, body: `"${s}" was rejected (${p.by ?? ''}). Reason: ${reason}` },
      };
    case 'approval.decision':
      return {
        ja: { title: `${p.decision === 'reject' ? '却下' : '承認'}が記録されました: ${kj}`, body: `「${s}」に ${p.by ?? ''} さんが${p.decision === 'reject' ? '却下' : '承認'}しました（承認 ${p.approvals ?? 0} / ${p.required ?? 0}）。${reason ? ` 理由: ${reason}` : ''}` },
        en: { title: `${p.decision === 'reject' ? 'Rejection' : 'Approval'} recorded: ${ke}`, body: `${p.by ?? ''} ${p.decision === 'reject' ? 'rejected' : 'approved'} "${s}" (approvals ${p.approvals ?? 0} of ${p.required ?? 0}).${reason ? ` Reason: ${reason}` : ''}` },
      };
    case 'approval.cancelled':
      return {
        ja: { title: `取り下げられました: ${kj}`, body: `「${s}」は取り下げられました。` },
        en: { title: `Cancelled: ${ke}`, body: `"${s}" was cancelled.` },
      };
    case 'approval.expired':
      return {
        ja: { title: `期限切れ: ${kj}`, body: `「${s}」は期限が切れました。必要であれば改めて申請してください。` },
        en: { title: `Expired: ${ke}`, body: `"${s}" has expired. File it again if it is still needed.` },
      };
    case 'approval.break_glass':
      return {
        ja: { title: `緊急承認（ブレークグラス）: ${kj}`, body: `${p.by ?? ''} さんが承認を経ずに「${s}」を実行可能にしました。理由: ${reason} 事後確認を行ってください。` },
        en: { title: `Break-glass: ${ke}`, body: `${p.by ?? ''} bypassed approval for "${s}". Reason: ${reason} An after-the-fact review is open.` },
      };
    case 'grant.suspended':
      return {
        ja: { title: '取扱者指定が停止されました', body: `${CAUSE_JA[p.cause ?? ''] ?? p.cause ?? ''}により、あなたのデータセットの取扱者指定 ${p.count ?? 0} 件を停止しました。必要であれば改めて指定してください。` },
        en: { title: 'Handler grants suspended', body: `${p.count ?? 0} grant(s) on your dataset were suspended (${CAUSE_EN[p.cause ?? ''] ?? p.cause ?? ''}). Grant again if the access is still needed.` },
      };
    case 'identity.leaver_alert':
      return {
        ja: { title: '退職・無効化者の直近の操作', body: `無効化された利用者に、直近 ${p.count ?? 0} 件の個人データ取得または保留中の送信があります。監査ログを確認してください。` },
        en: { title: 'Leaver with recent activity', body: `A deactivated user had ${p.count ?? 0} recent personal-data reads, downloads or held transmissions. Review the audit log.` },
      };
    case 'transmission.blocked':
      return {
        ja: { title: '送信がブロックされました', body: `送信したメールは送信規則によりブロックされ、送られていません（理由: ${causeJa(p.cause)}）。内容は削除されました。` },
        en: { title: 'Transmission blocked', body: `Your message was blocked by the transmission rules and was not sent (${causeEn(p.cause)}). Its content has been deleted.` },
      };
    case 'transmission.delivered':
      return {
        ja: { title: '送信しました', body: `承認済みのメールを TLS で送信しました（宛先 ${p.count ?? 0} 件）。` },
        en: { title: 'Transmission delivered', body: `Your message was delivered over TLS (${p.count ?? 0} recipient(s)).` },
      };
    case 'transmission.delivery_failed':
      return {
        ja: { title: '送信できませんでした', body: `メールは送信されていません（${causeJa(p.cause)}、試行 ${p.count ?? 0} 回）。保留のまま再試行します。` },
        en: { title: 'Transmission not delivered', body: `Your message has not been sent (${causeEn(p.cause)}, attempt ${p.count ?? 0}). It stays held and is retried.` },
      };
    case 'transmission.review_due':
      return {
        ja: { title: '送信の定期確認', body: `確認期間が終わりました。${p.count ?? 0} 件の送信について、適切だったかを確認してください。` },
        en: { title: 'Transmission review due', body: `A review period has ended: check whether ${p.count ?? 0} transmission(s) were appropriate.` },
      };
    case 'transmission.review_overdue':
      return {
        ja: { title: '送信の定期確認が期限切れです', body: `送信の定期確認が期限を過ぎても完了していません（未確認 ${p.count ?? 0} 件）。` },
        en: { title: 'Transmission review overdue', body: `A transmission review is past its due date (${p.count ?? 0} item(s) not yet checked).` },
      };
  }
}

const CAUSE_WORDS: Record<string, { ja: string; en: string }> = {
  'relay.no_tls': { ja: '送信先サーバーが TLS を提供していません', en: 'the upstream offers no TLS' },
  'relay.bad_certificate': { ja: '送信先サーバーの証明書を検証できません', en: 'the upstream certificate did not verify' },
  'relay.unreachable': { ja: '送信先サーバーに接続できません', en: 'the upstream could not be reached' },
  'relay.rejected': { ja: '送信先サーバーが受け取りを拒否しました', en: 'the upstream refused the message' },
  'relay.not_configured': { ja: '送信先サーバーが設定されていません', en: 'no upstream relay is configured' },
  'supervisor.missing': { ja: 'BCC する上長が登録されていません', en: 'no supervisor to copy is registered' },
  'block:my_number': { ja: 'マイナンバーを含む', en: 'contains a My Number' },
  'scan_error:DLP_LIMIT_EXCEEDED': { ja: '添付ファイルを検査できません（上限超過・圧縮爆弾）', en: 'an attachment could not be scanned (limits, decompression bomb)' },
  'scan_error:DLP_UNREADABLE': { ja: '添付ファイルを読み取れません', en: 'an attachment could not be read' },
  'scan_error:DLP_UNSUPPORTED': { ja: '検査できない形式の添付ファイル', en: 'an attachment of a format that cannot be scanned' },
};
const causeJa = (c: string | undefined) => (c ?? '').split(', ').map((x) => CAUSE_WORDS[x]?.ja ?? x).join('、');
const causeEn = (c: string | undefined) => (c ?? '').split(', ').map((x) => CAUSE_WORDS[x]?.en ?? x).join('; ');
