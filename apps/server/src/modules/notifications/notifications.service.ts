/**
 * The per-user inbox. `notify()` is the one way any module tells people something: it writes the
 * in-app rows and, for recipients with an e-mail address, one mail each through the outbox, all in
 * the caller's transaction: a notification exists, and is mailed, exactly when the change it
 * announces committed.
 */
import type { NotificationKind, NotificationView } from '@mamori/contracts';
import type { Clock } from '../../platform/clock.ts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { enqueueMail, isMailAddress } from '../outbox/index.ts';
import { notificationsRepository, type NotificationRow } from './notifications.repository.ts';
import { renderNotification, type NotificationParams } from './notifications.render.ts';

export type NotificationMessage = { kind: NotificationKind; params: NotificationParams; link?: string | null };

/**
 * Notifies each recipient once (duplicates and nulls dropped): an in-app row, and a mail in Japanese
 * then English with the same words to each active recipient who has a valid address (one mail per
 * person, so nobody sees who else was told).
 */
export async function notify(tx: Executor, clock: Clock, recipients: readonly (string | null | undefined)[], message: NotificationMessage): Promise<number> {
  const ids = [...new Set(recipients.filter((r): r is string => typeof r === 'string' && r.length > 0))];
  const at = clock.now();
  const repo = notificationsRepository(tx);
  await repo.insertMany(ids.map((user_id) => ({
    id: newId(), user_id, kind: message.kind, params: JSON.stringify(message.params), link: message.link ?? null, created_at: at,
  })));
  const words = renderNotification(message.kind, message.params);
  const text = [
    words.ja.title, '', words.ja.body, '', '----', '', words.en.title, '', words.en.body,
    ...(message.link ? ['', `Mamori: ${message.link}`] : []),
  ].join('\n');
  const subject = `[Mamori] ${words.ja.title} / ${words.en.title}`.replace(/[\r\n]+/g, ' ').slice(0, 250);
  for (const { email } of await repo.activeEmails(ids)) {
    if (isMailAddress(email)) await enqueueMail(tx, clock, { to: [email], subject, text, category: `notification.${message.kind}`.toLowerCase().replace(/[^a-z0-9_.-]/g, '_').slice(0, 64) });
  }
  return ids.length;
}

/** Active members of the security center: the recipients of immediate alerts. */
export async function securityCenter(tx: Executor): Promise<string[]> {
  return notificationsRepository(tx).activeHoldersOf('security_center');
}

function toView(r: NotificationRow): NotificationView {
  const kind = r.kind as NotificationKind;
  const words = renderNotification(kind, r.params as NotificationParams);
  return {
    id: r.id, kind, link: r.link,
    title: { ja: words.ja.title, en: words.en.title },
    body: { ja: words.ja.body, en: words.en.body },
    createdAt: new Date(r.created_at).toISOString(),
    readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
  };
}

async function owner(ctx: AppContext, actor: Actor): Promise<string> {
  await authorize(ctx, { actor, action: 'notification.read' });
  if (!actor.userId) throw new AppError('auth.required', 'Sign in first.');
  return actor.userId;
}

export async function listNotifications(ctx: AppContext, actor: Actor, opts: { unreadOnly?: boolean; limit?: number } = {}): Promise<{ notifications: NotificationView[]; unread: number }> {
  const userId = await owner(ctx, actor);
  const repo = notificationsRepository(ctx.db);
  const rows = await repo.list(userId, { unreadOnly: opts.unreadOnly ?? false, limit: Math.min(Math.max(opts.limit ?? 50, 1), 200) });
  return { notifications: rows.map(toView), unread: await repo.unreadCount(userId) };
}

export async function unreadCount(ctx: AppContext, actor: Actor): Promise<number> {
  return notificationsRepository(ctx.db).unreadCount(await owner(ctx, actor));
}

/** Marks the caller's own notifications read; someone else's ids are simply not theirs to change. */
export async function markRead(ctx: AppContext, actor: Actor, ids: readonly string[] | 'all'): Promise<number> {
  const userId = await owner(ctx, actor);
  return ctx.db.transaction().execute(async (tx) => {
    const n = await notificationsRepository(tx).markRead(userId, ids, ctx.clock.now());
    await appendAudit(tx, ctx.clock, actor, {
      action: 'notification.read', decision: 'allow', rule: 'notification.own', reason: 'Notifications marked read', result: 'ok', details: { marked: n, all: ids === 'all' },
    });
    return n;
  });
}
