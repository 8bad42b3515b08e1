/**
 * The held message itself: built as MIME from the compose form (nodemailer's composer), read back
 * into its parts (mailparser) for scanning, and kept encrypted at rest under a per-message key
 * wrapped by the master keyring (AES-256-GCM, bound to the transmission id).
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MasterKeyring } from '../../platform/crypto/keyring.ts';
import { open, seal, unwrapDataKey, wrapDataKey } from '../../platform/crypto/envelope.ts';
import { AppError } from '../../platform/errors.ts';

export type MessagePart = { name: string; bytes: Buffer };
export type ParsedMessage = { subject: string; from: string | null; body: MessagePart; attachments: MessagePart[] };

const aad = (id: string) => `mamori/transmission/v1/${id}`;

export function sealContent(keyring: MasterKeyring, id: string, raw: Buffer): { content: Buffer; masterKeyId: string; wrappedKey: Buffer } {
  const key = randomBytes(32);
  const w = wrapDataKey(keyring, key, aad(id));
  return { content: seal(key, raw, Buffer.from(aad(id))), masterKeyId: w.masterKeyId, wrappedKey: w.wrapped };
}

export function openContent(keyring: MasterKeyring, id: string, row: { content: Buffer; master_key_id: string; wrapped_key: Buffer }): Buffer {
  const key = unwrapDataKey(keyring, row.master_key_id, row.wrapped_key, aad(id));
  return open(key, row.content, Buffer.from(aad(id)));
}

export type ComposeParts = {
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  body: string;
  attachments: { name: string; contentType: string; content: Buffer }[];
  messageId: string;
};

/** RFC 5322 message of a composed mail (no Bcc header: the supervisor is added to the envelope only). */
export async function buildMime(p: ComposeParts): Promise<Buffer> {
  const composer = new MailComposer({
    from: p.from, to: p.to, ...(p.cc.length ? { cc: p.cc } : {}), subject: p.subject, text: p.body, messageId: p.messageId,
    attachments: p.attachments.map((a) => ({ filename: a.name, contentType: a.contentType, content: a.content })),
  });
  return new Promise<Buffer>((resolve, reject) => composer.compile().build((err, message) => (err ? reject(err) : resolve(message))));
}

/** Subject, From, the body as text and every attachment (names as given, or part-N). */
export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  // mailparser is loaded with the first message: it would add a fifth to every start of the command.
  const { simpleParser } = await import('mailparser');
  let parsed;
  try {
    parsed = await simpleParser(raw, { skipHtmlToText: false, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  } catch {
    throw new AppError('transmission.invalid', 'The message could not be read as MIME.', { field: 'message' });
  }
  const from = parsed.from?.value[0]?.address ?? null;
  const text = parsed.text ?? (typeof parsed.html === 'string' ? parsed.html : '');
  const attachments = parsed.attachments.map((a, i) => ({ name: safeName(a.filename ?? `part-${i + 1}`), bytes: a.content }));
  return { subject: (parsed.subject ?? '').replace(/[\r\n]+/g, ' ').slice(0, 500), from, body: { name: '本文.txt', bytes: Buffer.from(text, 'utf8') }, attachments };
}

/** A file name as shown to people: no path, no control characters, at most 200 characters. */
export function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const n = name.replace(/^.*[\\/]/, '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return n.length > 0 ? n : 'attachment';
}
