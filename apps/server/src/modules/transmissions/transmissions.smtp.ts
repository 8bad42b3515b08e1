/**
 * The SMTP submission port staff's mail clients use (off unless configured). STARTTLS with the
 * configured certificate; AUTH (PLAIN, LOGIN) only after STARTTLS, with the Mamori login and an API
 * token or the password; no mail without AUTH; a size limit advertised (SIZE) and enforced. An
 * accepted message is held (250 with its id), never relayed: delivery happens only after the rules
 * and, where needed, an approver. Replies carry error codes, never addresses or content.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { AppContext } from '../../platform/context.ts';
import { errorForLog, isAppError } from '../../platform/errors.ts';
import { identity, type Actor } from '../identity/index.ts';
import { MAX_RECIPIENTS, submitSmtp, type TransmissionSettings } from './transmissions.service.ts';

export type SubmissionSettings = {
  port: number;
  host: string;
  /** PEM certificate chain and key of the submission host. */
  cert: string;
  key: string;
  /** The name in the greeting and EHLO answer. */
  name: string;
};

export type SubmissionServer = { port: number; close(): Promise<void> };

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

export async function startSubmissionServer(ctx: AppContext, sub: SubmissionSettings, settings: TransmissionSettings): Promise<SubmissionServer> {
  const server = new SMTPServer({
    name: sub.name,
    banner: 'Mamori submission: messages are held for review',
    secure: false,
    key: sub.key,
    cert: sub.cert,
    minVersion: 'TLSv1.2',
    // AUTH is refused before STARTTLS, and MAIL is refused before AUTH: nothing travels in clear.
    allowInsecureAuth: false,
    authOptional: false,
    authMethods: ['PLAIN', 'LOGIN'],
    size: settings.maxBytes,
    maxClients: 50,
    logger: false,
    disableReverseLookup: true,
    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback) {
      if (!session.secure) return callback(smtpError('Must issue a STARTTLS command first', 538));
      const terminal = { ip: session.remoteAddress ?? null, userAgent: 'smtp-submission', deviceId: null };
      identity.authenticateSubmission(ctx, auth.username ?? '', auth.password ?? '', terminal).then(
        (actor) => callback(null, { user: actor }),
        (err: unknown) => callback(smtpError(isAppError(err) && err.code === 'auth.locked' ? 'Account temporarily locked' : 'Authentication failed', 535)),
      );
    },
    onMailFrom(_address, session, callback) {
      if (!session.secure || !session.user) return callback(smtpError('Authentication required', 530));
      callback();
    },
    onRcptTo(_address, session, callback) {
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return callback(smtpError('Too many recipients', 452));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        // Past the limit nothing more is kept: the message is refused below.
        if (bytes <= settings.maxBytes) chunks.push(c);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded || bytes > settings.maxBytes) return callback(smtpError('Message exceeds the size limit', 552));
        const actor = session.user as unknown as Actor;
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        submitSmtp(ctx, actor, settings, { from, to: session.envelope.rcptTo.map((r) => r.address) }, Buffer.concat(chunks)).then(
          (t) => callback(null, `Held for review as ${t.id} (${t.state})`),
          (err: unknown) => {
            if (isAppError(err)) return callback(smtpError(`${err.code}: ${err.message}`, err.status >= 500 ? 451 : 550));
            ctx.logger.error({ err: errorForLog(err as Error) }, 'smtp submission failed');
            callback(smtpError('Temporary failure, try again later', 451));
          },
        );
      });
    },
  });
  // A client that drops mid-handshake is not a server failure.
  server.on('error', (err: Error) => ctx.logger.warn({ err: { message: err.message } }, 'smtp submission connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(sub.port, sub.host, () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
