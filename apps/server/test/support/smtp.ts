/**
 * A real SMTP peer for tests (the `smtp-server` package): implicit TLS, STARTTLS, or plain (no TLS
 * offered at all), with the test PKI's localhost certificate. It keeps every message it accepted,
 * with its envelope and parsed headers, so tests can check what actually went over the wire.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { testPki } from './tls.ts';

export type ReceivedMail = { envelope: { from: string | null; to: string[] }; raw: string; parsed: ParsedMail; secure: boolean };

export type SmtpPeer = {
  port: number;
  /** `smtps://127.0.0.1:port` or `smtp://127.0.0.1:port`, as MAMORI_SMTP_URL would say it. */
  url: string;
  received: ReceivedMail[];
  /** Connections seen (also those that never got as far as a message). */
  connections: number;
  close(): Promise<void>;
};

export async function startSmtpPeer(mode: 'implicit' | 'starttls' | 'plain'): Promise<SmtpPeer> {
  const pki = await testPki();
  const received: ReceivedMail[] = [];
  const peer = { connections: 0 };
  const server = new SMTPServer({
    secure: mode === 'implicit',
    ...(mode === 'plain' ? { disabledCommands: ['STARTTLS', 'AUTH'] } : { key: pki.key, cert: pki.cert, disabledCommands: ['AUTH'] }),
    authOptional: true,
    logger: false,
    // No reverse DNS of 127.0.0.1 per connection: it only slows the tests down.
    disableReverseLookup: true,
    onConnect(_session, callback) {
      peer.connections++;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then((parsed) => {
          received.push({
            envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null, to: session.envelope.rcptTo.map((r) => r.address) },
            raw, parsed, secure: session.secure,
          });
          callback();
        }, (err: Error) => callback(err));
      });
    },
  });
  // A client that gives up mid-handshake (an untrusted certificate) is an expected event here.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `${mode === 'implicit' ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    received,
    get connections() {
      return peer.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
