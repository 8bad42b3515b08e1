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
  }
}
