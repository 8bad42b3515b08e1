/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, so tests can
 * run real TLS peers (SMTP, syslog, HTTPS receivers) and check that Mamori verifies the chain: a
 * client that trusts `ca` connects; one that trusts nothing (or another CA) is refused.
 */
import selfsigned from 'selfsigned';

export type TestPki = { ca: string; cert: string; key: string };

let cached: Promise<TestPki> | null = null;

async function create(): Promise<TestPki> {
  const now = new Date(Date.now() - 60_000);
  const until = new Date(Date.now() + 24 * 3600_000);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'Mamori Test CA' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: now, notAfterDate: until,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: now, notAfterDate: until,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { ca: ca.cert, cert: server.cert, key: server.private };
}

/** One PKI per test process (key generation is the slow part). */
export function testPki(): Promise<TestPki> {
  cached ??= create();
  return cached;
}
