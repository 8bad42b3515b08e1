/** The `mamori` command. Every command works with or without a server running on the data folder. */
import { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { loadConfig } from '../config/config.ts';
import { serve } from '../main.ts';
import { openContext } from '../platform/bootstrap.ts';
import { createKeyringFile, rotateKeyringFile } from '../platform/crypto/keyring.ts';
import { openOrCreateSigningKey } from '../platform/crypto/signing-key.ts';
import { createLogger } from '../platform/logger.ts';
import { isAppError } from '../platform/errors.ts';
import { seed } from '../platform/seed.ts';
import { identity } from '../modules/identity/index.ts';
import * as lifecycle from '../modules/lifecycle/index.ts';
import { createClientToken } from '../modules/scim/index.ts';
import { importRecords, rewrapAllDatasetKeys, type ImportProgress, type ImportResult } from '../modules/vault/index.ts';
import { splitImportBatches, type ImportFormat } from '../modules/vault/vault.import-parse.ts';
import type { ImportStreamProgress } from '../modules/vault/vault.import-stream.ts';
import { integrateAll } from '../modules/audit/index.ts';
import { exportRange } from '../modules/audit/audit.export.ts';
import { traceFile } from '../modules/extraction/index.ts';
import type { TraceResult } from '@mamori/contracts';
import { searchAuditEvents } from '../modules/audit/audit.query.ts';
import { proveConsistency, proveInclusion } from '../modules/audit/audit.log.ts';
import type { VerifyReport } from '../modules/audit/audit.verify.ts';
import { runVerification } from '../modules/audit/audit.integrity.ts';
import { verifyProofBundle } from '../modules/audit/audit.bundle.ts';
import { parseVerifierKey } from '../modules/audit/audit.checkpoint.ts';
import { createPhaseLine, createProgressBar, type ProgressBar } from './progress.ts';
import { api, apiProgress, resolveTarget, runningServer } from './target.ts';
import { exportLines, openOutput, streamOnlineExport } from './export.ts';
import { registerDlpCommands } from './dlp.ts';

const program = new Command();
program.name('mamori').description('Mamori (守り) — personal-data protection platform').showHelpAfterError();

function formatOf(file: string, given?: string): ImportFormat {
  if (given === 'csv' || given === 'tsv' || given === 'jsonl') return given;
  if (given) throw new Error('--format must be csv, tsv or jsonl');
  if (/\.tsv$/i.test(file)) return 'tsv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  return 'csv';
}

program.command('serve').description('Start the server (what `npm start` runs)').action(async () => {
  await serve(loadConfig());
});

program.command('init').description('Create the organisation, the administrator and (demo mode) the demo data, without serving').action(async () => {
  const config = loadConfig();
  if (await runningServer(config)) throw new Error('The server is running and has initialised this data folder already.');
  const ctx = await openContext(config, { logger: createLogger('warn') });
  const bar = createProgressBar('demo contacts');
  const r = await seed(ctx, { demo: config.demo, demoContacts: config.demoContacts, onProgress: (d, t) => bar.update(d, t) });
  bar.stop();
  if (!r.created) process.stdout.write('Already initialised.\n');
  for (const c of r.credentials) process.stdout.write(`${c.login}\t${c.password}\t${c.description}\n`);
  await ctx.database.close();
});

program
  .command('import')
  .description('Import a CSV (UTF-8 / BOM / Shift_JIS), TSV or JSON Lines file into a dataset: all rows or none')
  .argument('<dataset>')
  .argument('<file>')
  .option('--format <format>', 'csv | tsv | jsonl (default: from the file name)')
  .action(async (dataset: string, file: string, opts: { format?: string }) => {
    const config = loadConfig();
    const format = formatOf(file, opts.format);
    const size = (await stat(file)).size;
    const target = await resolveTarget(config);
    const label = `import ${dataset}`;
    const started = Date.now();
    // The bar follows the file's bytes as the import reads them (rows are written as they are read);
    // after the last row, the steps without a measure (the search index, the commit) are named.
    // (Created when the import starts: its rate counts from there, not from the upload's start.)
    let bar: ProgressBar | null = target.mode === 'offline' ? createProgressBar(label, 'bytes') : null;
    const phase = createPhaseLine(label);
    let current: ImportProgress['phase'] = 'write';
    const onPhase = (p: ImportProgress['phase'], rows: number) => {
      // A step's line comes again while it lasts (the server's keep-alive): its seconds go on.
      if (p === current) return;
      current = p;
      bar?.stop();
      if (p === 'index') phase.show(`${rows} rows written; rebuilding the search index…`);
      else if (p === 'commit') phase.show('committing…');
      else phase.stop();
    };
    if (target.mode === 'online') {
      // First the upload (the server spools it), then the server's import, whose progress it streams.
      const upload = createProgressBar(`${label}: upload`, 'bytes');
      let sent = 0;
      const stream = createReadStream(file).on('data', (c) => upload.update((sent += c.length), size));
      try {
        const r = await apiProgress<ImportStreamProgress, ImportResult>(
          target, 'POST', `/api/datasets/${encodeURIComponent(dataset)}/import?format=${format}`, Readable.toWeb(stream), { 'content-type': 'application/octet-stream' },
          (p) => {
            upload.stop();
            if (p.phase === 'write') (bar ??= createProgressBar(label, 'bytes')).update(p.bytes, p.totalBytes);
            else onPhase(p.phase, p.rows);
          },
        );
        process.stdout.write(`imported ${r.imported} rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      } finally {
        upload.stop();
        bar?.stop();
        phase.stop();
      }
      return;
    }
    try {
      let bytes = 0;
      const r = await importRecords(target.ctx, target.actor, dataset, () => splitImportBatches(createReadStream(file), format, { onBytes: (n) => bar?.update((bytes += n), size) }), (p) => onPhase(p.phase, p.rows), { sourceBytes: size });
      const secs = (Date.now() - started) / 1000;
      process.stdout.write(`imported ${r.imported} rows in ${secs.toFixed(1)} s (${Math.round(r.imported / secs)} rows/s)\n`);
    } finally {
      bar?.stop();
      phase.stop();
      await integrateAll(target.ctx);
      await target.close();
    }
  });

program
  .command('trace')
  .description('Name the export a leaked file (CSV in any encoding, or XLSX; whole or a fragment) came from')
  .argument('<file>')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, opts: { json?: boolean }) => {
    const config = loadConfig();
    const bytes = await readFile(file);
    const target = await resolveTarget(config);
    let result: TraceResult;
    if (target.mode === 'online') {
      result = await api<TraceResult>(target, 'POST', '/api/trace', bytes, { 'content-type': 'application/octet-stream' });
    } else {
      try {
        result = await traceFile(target.ctx, target.actor, bytes);
      } finally {
        await integrateAll(target.ctx);
        await target.close();
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write(`rows read: ${result.rowsRead}\n`);
    if (result.matches.length === 0) process.stdout.write('no export matches this file\n');
    for (const m of result.matches) {
      const recipient = m.recipient.kind === 'third_party' ? `third party: ${m.recipient.name}` : 'internal use';
      process.stdout.write([
        `export ${m.extractionId}  confidence: ${m.confidence}`,
        `  dataset:   ${m.dataset}`,
        `  requester: ${m.requester.displayName} (${m.requester.login})`,
        `  approver:  ${m.approvers.map((a) => `${a.displayName} (${a.login})`).join(', ') || '-'}`,
        `  date:      ${m.completedAt ?? '-'}`,
        `  recipient: ${recipient}`,
        `  evidence:  ${m.canaries} canary record(s); fingerprint ${m.fingerprint.matched}/${m.fingerprint.checked} name cells agree`,
        '',
      ].join('\n') + '\n');
    }
  });

const audit = program.command('audit').description('The audit log');
audit
  .command('tail')
  .description('Print the newest audit events (JSON Lines)')
  .option('-n, --lines <n>', 'how many', '20')
  .option('--action <action>', 'only this action')
  .option('--decision <decision>', 'allow | deny')
  .action(async (opts: { lines: string; action?: string; decision?: string }) => {
    const config = loadConfig();
    const limit = Math.min(Math.max(Number(opts.lines) || 20, 1), 500);
    const target = await resolveTarget(config);
    let events: unknown[];
    if (target.mode === 'online') {
      const q = new URLSearchParams({ limit: String(limit), ...(opts.action ? { action: opts.action } : {}), ...(opts.decision ? { decision: opts.decision } : {}) });
      events = (await api<{ events: unknown[] }>(target, 'GET', `/api/audit/events?${q}`)).events;
    } else {
      try {
        events = (await searchAuditEvents(target.ctx, target.actor, {
          limit, ...(opts.action ? { action: opts.action } : {}), ...(opts.decision === 'allow' || opts.decision === 'deny' ? { decision: opts.decision } : {}),
        })).events;
      } finally {
        await target.close();
      }
    }
    for (const e of events.reverse()) process.stdout.write(`${JSON.stringify(e)}\n`);
  });

audit
  .command('verify')
  .description('Re-hash every event from its stored bytes, rebuild the Merkle tree, check every checkpoint and witness copy (recorded as a verification run)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { json?: boolean }) => {
    const config = loadConfig();
    const target = await resolveTarget(config);
    let report: VerifyReport;
    if (target.mode === 'online') {
      report = (await api<{ report: VerifyReport }>(target, 'POST', '/api/audit/verify')).report;
    } else {
      const bar = createProgressBar('audit verify', 'events');
      try {
        report = await runVerification(target.ctx, target.actor, 'cli', (d, t) => bar.update(d, t));
      } finally {
        bar.stop();
        await integrateAll(target.ctx);
        await target.close();
      }
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.ok) process.stdout.write(`OK: ${report.treeSize} events, ${report.checkpoints} checkpoints, ${report.witnessCheckpoints} witness copies; root ${report.rootHash}\n`);
    else process.stdout.write(`TAMPERED: ${report.problem!.kind} at index ${report.problem!.index}: ${report.problem!.detail}\n`);
    if (!report.ok) process.exitCode = 2;
  });

audit
  .command('export')
  .description('One-off export of the integrated log as JSON Lines ({"seq","leafHash","event"} per line); audited')
  .option('--jsonl', 'JSON Lines (the only format)')
  .option('--from <seq>', 'first log index (default 0)')
  .option('--to <seq>', 'last log index, inclusive (default: the newest integrated event)')
  .option('-o, --output <file>', 'write to this file instead of stdout')
  .action(async (opts: { jsonl?: boolean; from?: string; to?: string; output?: string }) => {
    if (!opts.jsonl) throw new Error('choose the format: --jsonl');
    const seq = (v: string | undefined, name: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`${name} must be a log index (0 or more)`);
      return n;
    };
    const from = seq(opts.from, '--from') ?? 0;
    const to = seq(opts.to, '--to');
    if (to !== undefined && to < from) throw new Error('--to must not be below --from');
    const config = loadConfig();
    const target = await resolveTarget(config);
    const out = await openOutput(opts.output);
    const bar = createProgressBar('audit export', 'events');
    try {
      if (target.mode === 'online') {
        const q = new URLSearchParams({ from: String(from), ...(to === undefined ? {} : { to: String(to) }) });
        const n = await streamOnlineExport(target, `/api/audit/export.jsonl?${q}`, out.stream, (d, t) => bar.update(d, t));
        bar.stop();
        process.stderr.write(`exported ${n} events\n`);
        return;
      }
      try {
        // Offline nobody else sequences this data folder: integrate what is pending, so it can be exported.
        await integrateAll(target.ctx);
        const r = await exportRange(target.ctx, target.actor, { from, ...(to === undefined ? {} : { to }) });
        const total = Math.max(0, r.end - r.first);
        const n = await exportLines(r.lines, out.stream, (d) => bar.update(d, total));
        bar.stop();
        process.stderr.write(`exported ${n} events (seq ${r.first}..${r.first + n - 1})\n`);
      } finally {
        await integrateAll(target.ctx);
        await target.close();
      }
    } finally {
      bar.stop();
      await out.close();
    }
  });

audit
  .command('verify-proof')
  .description('Check a proof bundle downloaded from the console (or GET /api/audit/proofs/bundle) without any database')
  .argument('<file>')
  .option('--key <vkey>', "the log's verifier key as published (name+id+key); default: the key inside the bundle")
  .option('--json', 'print the report as JSON')
  .action(async (file: string, opts: { key?: string; json?: boolean }) => {
    const trusted = opts.key === undefined ? undefined : parseVerifierKey(opts.key);
    if (trusted === null) throw new Error('--key is not a verifier key (name+hex id+base64 key)');
    let bundle: unknown;
    try {
      bundle = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      bundle = null;
    }
    const r = verifyProofBundle(bundle, trusted);
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      for (const c of r.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}\n`);
      process.stdout.write(r.ok ? `OK: event ${r.leafIndex} is in the log of ${r.treeSize} events signed by the ${r.keyFromBundle ? "bundle's" : 'given'} key\n` : 'NOT VERIFIED\n');
    }
    if (!r.ok) process.exitCode = 2;
  });

audit
  .command('proof')
  .description('Inclusion proof of the event at a log index (against the latest checkpoint, or --size)')
  .argument('<index>')
  .option('--size <size>', 'checkpoint tree size')
  .action(async (index: string, opts: { size?: string }) => {
    const config = loadConfig();
    const target = await resolveTarget(config);
    const size = opts.size === undefined ? undefined : Number(opts.size);
    if (target.mode === 'online') {
      const q = new URLSearchParams({ index, ...(size ? { size: String(size) } : {}) });
      process.stdout.write(`${JSON.stringify(await api(target, 'GET', `/api/audit/proofs/inclusion?${q}`), null, 2)}\n`);
      return;
    }
    try {
      process.stdout.write(`${JSON.stringify(await proveInclusion(target.ctx, target.actor, Number(index), size), null, 2)}\n`);
    } finally {
      await integrateAll(target.ctx);
      await target.close();
    }
  });

audit
  .command('consistency')
  .description('Consistency proof between two checkpoints')
  .argument('<from>')
  .argument('<to>')
  .action(async (from: string, to: string) => {
    const config = loadConfig();
    const target = await resolveTarget(config);
    if (target.mode === 'online') {
      process.stdout.write(`${JSON.stringify(await api(target, 'GET', `/api/audit/proofs/consistency?from=${Number(from)}&to=${Number(to)}`), null, 2)}\n`);
      return;
    }
    try {
      process.stdout.write(`${JSON.stringify(await proveConsistency(target.ctx, target.actor, Number(from), Number(to)), null, 2)}\n`);
    } finally {
      await integrateAll(target.ctx);
      await target.close();
    }
  });

const token = program.command('token').description('API tokens for services and the CLI');
token
  .command('create')
  .description('Issue an API token to a user; printed once')
  .requiredOption('--user <login>', 'the user (or service account) the token acts as')
  .requiredOption('--name <name>', 'what the token is for')
  .option('--days <days>', 'expiry in days', '90')
  .action(async (opts: { user: string; name: string; days: string }) => {
    const config = loadConfig();
    const target = await resolveTarget(config);
    const expiresAt = new Date(Date.now() + Number(opts.days) * 86_400_000);
    if (target.mode === 'online') {
      const users = await api<{ users: { id: string; login: string }[] }>(target, 'GET', '/api/users?limit=500');
      const u = users.users.find((x) => x.login === opts.user);
      if (!u) throw new Error('No such user.');
      const r = await api<{ token: string }>(target, 'POST', '/api/tokens', JSON.stringify({ userId: u.id, name: opts.name, expiresAt: expiresAt.toISOString() }), { 'content-type': 'application/json' });
      process.stdout.write(`${r.token}\n`);
      return;
    }
    try {
      const u = await identity.findUserByLogin(target.ctx, opts.user);
      if (!u) throw new Error('No such user.');
      const r = await identity.createApiToken(target.ctx, target.actor, { userId: u.id, name: opts.name, expiresAt });
      process.stdout.write(`${r.token}\n`);
    } finally {
      await integrateAll(target.ctx);
      await target.close();
    }
  });

const scimCmd = program.command('scim').description('SCIM 2.0 provisioning from the IdP or HR system');
scimCmd
  .command('token')
  .description('SCIM client tokens')
  .command('create')
  .description('Create the SCIM client if needed and issue a new bearer token for it; printed once')
  .argument('<client-name>', 'e.g. entra, okta, hr-system')
  .action(async (name: string) => {
    const config = loadConfig();
    const target = await resolveTarget(config);
    let token: string;
    if (target.mode === 'online') {
      token = (await api<{ token: string }>(target, 'POST', '/api/scim/clients', JSON.stringify({ name }), { 'content-type': 'application/json' })).token;
    } else {
      try {
        token = (await createClientToken(target.ctx, target.actor, name)).token;
      } finally {
        await integrateAll(target.ctx);
        await target.close();
      }
    }
    process.stdout.write(`${token}\n`);
    process.stderr.write('Shown once. Tenant URL: <your Mamori URL>/scim/v2 — paste the token as the secret token / bearer token.\n');
  });

program
  .command('user-status')
  .description('Set a user active, suspended or retired (retiring revokes every session and token at once)')
  .argument('<login>')
  .argument('<status>', 'active | suspended | retired')
  .option('--reason <reason>', 'why', '')
  .action(async (loginName: string, status: string, opts: { reason: string }) => {
    if (!['active', 'suspended', 'retired'].includes(status)) throw new Error('status must be active, suspended or retired');
    const config = loadConfig();
    const target = await resolveTarget(config);
    if (target.mode === 'online') {
      const users = await api<{ users: { id: string; login: string }[] }>(target, 'GET', '/api/users?limit=500');
      const u = users.users.find((x) => x.login === loginName);
      if (!u) throw new Error('No such user.');
      await api(target, 'POST', `/api/users/${u.id}/status`, JSON.stringify({ status, reason: opts.reason }), { 'content-type': 'application/json' });
    } else {
      try {
        const u = await identity.findUserByLogin(target.ctx, loginName);
        if (!u) throw new Error('No such user.');
        await lifecycle.setUserStatus(target.ctx, target.actor, u.id, status as 'active', opts.reason);
      } finally {
        await integrateAll(target.ctx);
        await target.close();
      }
    }
    process.stdout.write(`${loginName}: ${status}\n`);
  });

const keys = program.command('keys').description('Encryption keys');
keys
  .command('init')
  .description('Create the master keyring and the audit signing key files (mode 0600) for production')
  .option('--master <file>', 'keyring file (default: MAMORI_MASTER_KEY_FILE or data/keys/master.json)')
  .option('--log <file>', 'audit signing key file (default: MAMORI_LOG_KEY_FILE or data/keys/log-signing.json)')
  .action(async (opts: { master?: string; log?: string }) => {
    const config = loadConfig({ ...process.env, DATABASE_URL: '' });
    const masterFile = opts.master ?? config.masterKeyFile;
    const logFile = opts.log ?? config.logKeyFile;
    const ring = await createKeyringFile(masterFile, new Date());
    const key = await openOrCreateSigningKey(logFile, config.auditOrigin);
    process.stdout.write(`master keyring ${masterFile} (${ring.activeId})\naudit signing key ${logFile} (${key.name})\n`);
    process.stdout.write('Keep both files secret and backed up: without the master key the encrypted data cannot be read.\n');
  });

keys
  .command('rotate')
  .description('Add a new master key to the keyring file and re-wrap every dataset key under it')
  .action(async () => {
    const config = loadConfig();
    if (await runningServer(config)) throw new Error('Stop the server first: the running server holds the keyring in memory (see docs/adr/0002).');
    if (config.masterKeyBase64) throw new Error('The master key comes from MAMORI_MASTER_KEY: rotate it in your secret store.');
    await rotateKeyringFile(config.masterKeyFile, new Date());
    const target = await resolveTarget(config);
    if (target.mode !== 'offline') throw new Error('unreachable');
    try {
      const r = await rewrapAllDatasetKeys(target.ctx, target.actor);
      process.stdout.write(`new master key ${target.ctx.keyring.activeId}; ${r.rewrapped} dataset keys re-wrapped\n`);
    } finally {
      await integrateAll(target.ctx);
      await target.close();
    }
  });

registerDlpCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isAppError(err)) {
    process.stderr.write(`mamori: ${err.code}: ${err.message}\n`);
    if (err.details) process.stderr.write(`${JSON.stringify(err.details, null, 2)}\n`);
  } else {
    const e = err as Error & { details?: unknown };
    process.stderr.write(`mamori: ${e.message}\n`);
    if (e.details) process.stderr.write(`${JSON.stringify(e.details, null, 2)}\n`);
  }
  process.exitCode = 1;
});
