/**
 * `mamori serve` (what `npm start` runs): config → context (keys, database, migrations) → first-run
 * seed → HTTP app → listen; the audit sequencer and the SIEM exporters run beside it.
 */
import { writeFile, rm, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config/config.ts';
import { buildApp } from './app.ts';
import { startTransmissionReviews, startTransmissionWorker } from './jobs/transmissions.ts';
import { startSubmissionServer, type TransmissionSettings } from './modules/transmissions/index.ts';
import { loadRelaySettings, openContext } from './platform/bootstrap.ts';
import { seed } from './platform/seed.ts';
import { startSequencer } from './jobs/sequencer.ts';
import { startApprovalExpiry } from './jobs/approvals-expiry.ts';
import { startSiemExport } from './jobs/siem-export.ts';
import { startOutboxWorker } from './jobs/outbox.ts';
import { startMonitor } from './jobs/monitor.ts';
import { startRetirementJob } from './jobs/retirement.ts';
import { startActorBroadcast } from './modules/identity/index.ts';
import { startExtractionRunner } from './jobs/extraction-runner.ts';
import { createProgressBar } from './cli/progress.ts';

export const SERVER_FILE = 'server.json';

export async function serve(config: Config): Promise<void> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const ctx = await openContext(config);
  const bar = createProgressBar('デモデータ / demo contacts');
  const seeded = await seed(ctx, { demo: config.demo, demoContacts: config.demoContacts, onProgress: (done, total) => bar.update(done, total) });
  bar.stop();
  if (seeded.created) printCredentials(seeded.credentials, config);

  const gateway: TransmissionSettings = { relay: await loadRelaySettings(config), maxBytes: config.gateway.maxMessageBytes, messageIdDomain: config.gateway.messageIdDomain };
  const app = await buildApp(ctx, { secureCookies: config.secureCookies, trustProxy: config.trustProxy, dataDir: config.dataDir, transmissions: gateway });
  const siemExport = await startSiemExport(ctx, config.siem);
  const sequencer = startSequencer(ctx);
  const approvalExpiry = startApprovalExpiry(ctx);
  const outbox = startOutboxWorker(ctx);
  const monitor = startMonitor(ctx);
  const retirement = startRetirementJob(ctx);
  // Other nodes' revocations empty this node's actor cache at once (PostgreSQL LISTEN/NOTIFY).
  const broadcast = await startActorBroadcast(ctx);
  const extractionRunner = startExtractionRunner(ctx, { dir: path.join(config.dataDir, 'exports') });
  const transmissionWorker = startTransmissionWorker(ctx, gateway.relay);
  const transmissionReviews = startTransmissionReviews(ctx);
  const sub = config.gateway.submission;
  const submission = sub
    ? await startSubmissionServer(ctx, { port: sub.port, host: sub.host, name: sub.name, cert: await readFile(sub.certFile, 'utf8'), key: await readFile(sub.keyFile, 'utf8') }, gateway)
    : null;
  if (submission) process.stdout.write(`SMTP submission (STARTTLS) on ${sub!.host}:${submission.port}\n`);
  /** Everything started above, stopped in order (the HTTP app first, the database last). */
  const shutdown = async () => {
    await app.close();
    await approvalExpiry.stop();
    await siemExport.stop();
    await monitor.stop();
    await retirement.stop();
    await broadcast.close();
    await extractionRunner.stop();
    await submission?.close();
    await transmissionWorker.stop();
    await transmissionReviews.stop();
    await sequencer.stop();
    await outbox.stop();
    await ctx.database.close();
  };
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // A port in use, say: the jobs started above would keep the process alive, serving nothing.
    await shutdown();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  // Lets `mamori` commands find the running server (the embedded database belongs to this process).
  const serverFile = path.join(config.dataDir, SERVER_FILE);
  await writeFile(serverFile, JSON.stringify({ pid: process.pid, url, startedAt: new Date().toISOString() }), { mode: 0o600 });
  process.stdout.write(`Mamori listening on ${url}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ctx.logger.info({ signal }, 'shutting down');
    await shutdown();
    await rm(serverFile, { force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function printCredentials(creds: { login: string; password: string; description: string }[], config: Config): void {
  const lines = [
    '',
    '初回起動: 以下のワンタイムパスワードは一度だけ表示されます。初回ログイン時に変更が必要です。',
    'First start: these one-time passwords are shown once; each must be changed at first login.',
    '',
    ...creds.map((c) => `  ${c.login.padEnd(10)} ${c.password}   ${c.description}`),
    '',
    config.demo ? 'Demo data is synthetic: no real people. Set MAMORI_DEMO=false for an empty organisation.' : '',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
