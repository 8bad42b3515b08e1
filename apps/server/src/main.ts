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

/** The order in which `serve` stops what it started: no new request first, the audit sequencer and the outbox last. */
const STOP_ORDER = ['app', 'approvalExpiry', 'siemExport', 'monitor', 'retirement', 'broadcast', 'extractionRunner', 'submission', 'transmissionWorker', 'transmissionReviews', 'sequencer', 'outbox'] as const;

export async function serve(config: Config): Promise<void> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const ctx = await openContext(config);
  // Each part's stop, set once it has started; `shutdown` stops them in STOP_ORDER (the HTTP app
  // first), then closes the database. A failure part-way (the seed, a port in use, an unreadable
  // certificate) stops what did start: its jobs would otherwise keep the process alive, serving nothing.
  const stops: Partial<Record<(typeof STOP_ORDER)[number], () => Promise<unknown>>> = {};
  const shutdown = async () => {
    for (const part of STOP_ORDER) await stops[part]?.();
    await ctx.database.close();
  };
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    const bar = createProgressBar('デモデータ / demo contacts');
    const seeded = await seed(ctx, { demo: config.demo, demoContacts: config.demoContacts, onProgress: (done, total) => bar.update(done, total) });
    bar.stop();
    if (seeded.created) printCredentials(seeded.credentials, config);

    const gateway: TransmissionSettings = { relay: await loadRelaySettings(config), maxBytes: config.gateway.maxMessageBytes, messageIdDomain: config.gateway.messageIdDomain };
    app = await buildApp(ctx, { secureCookies: config.secureCookies, trustProxy: config.trustProxy, dataDir: config.dataDir, transmissions: gateway });
    stops.app = () => app.close();
    const siemExport = await startSiemExport(ctx, config.siem);
    stops.siemExport = () => siemExport.stop();
    const sequencer = startSequencer(ctx);
    stops.sequencer = () => sequencer.stop();
    const approvalExpiry = startApprovalExpiry(ctx);
    stops.approvalExpiry = () => approvalExpiry.stop();
    const outbox = startOutboxWorker(ctx);
    stops.outbox = () => outbox.stop();
    const monitor = startMonitor(ctx);
    stops.monitor = () => monitor.stop();
    const retirement = startRetirementJob(ctx);
    stops.retirement = () => retirement.stop();
    // Other nodes' revocations empty this node's actor cache at once (PostgreSQL LISTEN/NOTIFY).
    const broadcast = await startActorBroadcast(ctx);
    stops.broadcast = () => broadcast.close();
    const extractionRunner = startExtractionRunner(ctx, { dir: path.join(config.dataDir, 'exports') });
    stops.extractionRunner = () => extractionRunner.stop();
    const transmissionWorker = startTransmissionWorker(ctx, gateway.relay);
    stops.transmissionWorker = () => transmissionWorker.stop();
    const transmissionReviews = startTransmissionReviews(ctx);
    stops.transmissionReviews = () => transmissionReviews.stop();
    const sub = config.gateway.submission;
    if (sub) {
      const submission = await startSubmissionServer(ctx, { port: sub.port, host: sub.host, name: sub.name, cert: await readFile(sub.certFile, 'utf8'), key: await readFile(sub.keyFile, 'utf8') }, gateway);
      stops.submission = () => submission.close();
      process.stdout.write(`SMTP submission (STARTTLS) on ${sub.host}:${submission.port}\n`);
    }
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
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
