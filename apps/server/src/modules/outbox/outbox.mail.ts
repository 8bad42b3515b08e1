/**
 * Mail delivery over SMTP with TLS only: `smtps://` is implicit TLS, `smtp://` must upgrade with
 * STARTTLS (requireTLS) or nothing is sent. The relay's certificate is always verified, against the
 * configured CA file or the system roots. Credentials come from a file, never from the URL.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailSettings } from '../../platform/context.ts';
import { PermanentDeliveryError, type ClaimedRow, type MailPayload, type OutboxHandler } from './outbox.types.ts';

export function createMailTransport(settings: MailSettings): Transporter {
  const u = new URL(settings.url);
  const implicit = u.protocol === 'smtps:';
  return nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : implicit ? 465 : 587,
    secure: implicit,
    requireTLS: true,
    ignoreTLS: false,
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(settings.ca ? { ca: settings.ca } : {}),
    },
    ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
    // Nodemailer logs nothing unless asked; keep it that way (addresses would appear).
    logger: false,
    debug: false,
  });
}

function isMailPayload(p: unknown): p is MailPayload {
  const m = p as MailPayload;
  return typeof m === 'object' && m !== null && Array.isArray(m.to) && Array.isArray(m.cc) && Array.isArray(m.bcc) && typeof m.subject === 'string' && typeof m.text === 'string';
}

/** The handler for 'mail' rows: one SMTP transaction per row; the outbox id is the Message-ID. */
export function mailHandler(settings: MailSettings, transport: Transporter): OutboxHandler {
  const domain = settings.from.split('@').pop() ?? 'mamori.local';
  return async (row: ClaimedRow) => {
    if (!isMailPayload(row.payload)) throw new PermanentDeliveryError('stored mail payload is malformed');
    const m = row.payload;
    await transport.sendMail({
      from: settings.from,
      to: m.to,
      ...(m.cc.length ? { cc: m.cc } : {}),
      ...(m.bcc.length ? { bcc: m.bcc } : {}),
      subject: m.subject,
      text: m.text,
      ...(m.html ? { html: m.html } : {}),
      // A retry after a crash between "sent" and "marked sent" carries the same id: receivers can tell.
      messageId: `<${row.id}@${domain}>`,
      headers: { 'X-Mamori-Category': row.category, 'Auto-Submitted': 'auto-generated' },
    });
  };
}

const ADDRESS_IN_TEXT = /[^\s<>"'(),;:@]+@[^\s<>"'(),;:]+/g;

/**
 * What is recorded and logged about a failed attempt: the error code, the SMTP reply code and the
 * message with any address removed (relays echo recipients in their replies).
 */
export function describeDeliveryError(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts = [typeof e.code === 'string' ? e.code : null, typeof e.responseCode === 'number' ? String(e.responseCode) : null]
    .filter(Boolean)
    .join(' ');
  const message = typeof e.message === 'string' ? e.message.replace(ADDRESS_IN_TEXT, '<address>').replace(/\s+/g, ' ').slice(0, 300) : 'unknown error';
  return parts ? `${parts}: ${message}` : message;
}
