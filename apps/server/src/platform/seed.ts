/**
 * First start: the organisation and its administrator (one-time password, shown once, change
 * forced at first login). In demo mode also a handful of users of every employment type and role,
 * the contacts dataset with its handler grants, and N synthetic contacts.
 */
import { sql } from 'kysely';
import type { EmploymentType, Role } from '@mamori/contracts';
import type { AppContext } from './context.ts';
import { newId } from './ids.ts';
import { identity, systemActor, type Actor } from '../modules/identity/index.ts';
import { createDataset, createGrant, importRecords, type ImportRow } from '../modules/vault/index.ts';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from '../modules/vault/vault.demo-data.ts';

export type SeedResult = { created: boolean; credentials: { login: string; password: string; description: string }[] };

export const DEMO_PURPOSES = ['営業活動', 'データ整備', '本人対応'] as const;

const DEMO_USERS: { login: string; displayName: string; employmentType: EmploymentType; roles: Role[]; department: string; description: string }[] = [
  { login: 'cpo', displayName: '佐藤 一郎', employmentType: 'employee', roles: ['cpo'], department: 'セキュリティセンター', description: 'CPO 個人情報保護管理者' },
  { login: 'secops', displayName: '鈴木 花子', employmentType: 'employee', roles: ['security_center'], department: 'セキュリティセンター', description: 'セキュリティセンター' },
  { login: 'auditor', displayName: '高橋 健', employmentType: 'employee', roles: ['auditor'], department: '監査室', description: '監査責任者' },
  { login: 'owner', displayName: '田中 美咲', employmentType: 'employee', roles: ['data_owner'], department: 'データ本部', description: 'データオーナー (contacts)' },
  { login: 'handler', displayName: '伊藤 大輔', employmentType: 'employee', roles: ['handler'], department: '営業部', description: '取扱者 (正社員)' },
  { login: 'haken', displayName: '渡辺 さくら', employmentType: 'dispatch', roles: ['handler'], department: '営業部', description: '派遣社員 (個人情報なし)' },
  { login: 'arubaito', displayName: '山本 翔', employmentType: 'part_time', roles: [], department: 'データ本部', description: 'アルバイト' },
  { login: 'komon', displayName: '中村 誠', employmentType: 'advisor', roles: [], department: '経営企画部', description: '顧問' },
  { login: 'itaku', displayName: '小林 優', employmentType: 'contractor', roles: [], department: '情報システム部', description: '業務委託' },
  { login: 'approver', displayName: '加藤 真一', employmentType: 'employee', roles: ['transmission_approver'], department: 'セキュリティセンター', description: '送信承認者' },
  { login: 'cio', displayName: '吉田 剛', employmentType: 'employee', roles: ['cio'], department: '情報システム部', description: 'CIO' },
  { login: 'hr', displayName: '山田 恵', employmentType: 'employee', roles: ['hr'], department: '人事部', description: '人事' },
];

export async function isInitialized(ctx: AppContext): Promise<boolean> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM organisation`.execute(ctx.db);
  return (r.rows[0]?.n ?? 0) > 0;
}

/** The demo users' mail domain: reserved for documentation (RFC 2606), never deliverable. */
export const DEMO_MAIL_DOMAIN = 'mamori.example';

export async function seed(
  ctx: AppContext,
  opts: { demo: boolean; demoContacts: number; organisation?: string; onProgress?: (done: number, total: number) => void },
): Promise<SeedResult> {
  if (await isInitialized(ctx)) return { created: false, credentials: [] };
  const now = ctx.clock.now();
  const system = systemActor({ ip: null, userAgent: 'mamori-init', deviceId: null });
  await ctx.db.insertInto('organisation').values({ id: newId(), name: opts.organisation ?? 'Mamori', created_at: now }).execute();
  const credentials: SeedResult['credentials'] = [];
  const admin = await identity.createUser(ctx, system, { login: 'admin', displayName: '管理者', employmentType: 'employee', roles: ['administrator'] });
  credentials.push({ login: 'admin', password: admin.oneTimePassword!, description: 'administrator / 管理者' });
  if (!opts.demo) return { created: true, credentials };

  const departments = new Map<string, string>();
  for (const u of DEMO_USERS) {
    if (!departments.has(u.department)) {
      const id = newId();
      await ctx.db.insertInto('departments').values({ id, name: u.department, created_at: now }).execute();
      departments.set(u.department, id);
    }
  }
  const ids = new Map<string, string>();
  for (const u of DEMO_USERS) {
    const r = await identity.createUser(ctx, system, {
      login: u.login, displayName: u.displayName, employmentType: u.employmentType, roles: u.roles, departmentId: departments.get(u.department)!,
      // A reserved domain (RFC 2606): the demo can compose, approve and BCC, and nothing can reach anyone.
      email: `${u.login}@${DEMO_MAIL_DOMAIN}`,
    });
    ids.set(u.login, r.user.id);
    credentials.push({ login: u.login, password: r.oneTimePassword!, description: u.description });
  }
  // Supervisors: the sales handlers report to the data owner; everyone else to the CPO.
  for (const u of DEMO_USERS) {
    const supervisor = u.login === 'cpo' ? null : ['handler', 'haken', 'arubaito'].includes(u.login) ? ids.get('owner')! : ids.get('cpo')!;
    if (supervisor) await ctx.db.updateTable('users').set({ supervisor_id: supervisor }).where('id', '=', ids.get(u.login)!).execute();
  }

  await createDataset(ctx, system, {
    name: 'contacts',
    labelJa: '企業・人物データベース',
    labelEn: 'Companies and contacts',
    description: 'デモ用の合成データ（実在の人物ではありません） / Synthetic demo data: no real people.',
    ownerUserId: ids.get('owner')!,
    departmentId: departments.get('データ本部')!,
    purposes: [...DEMO_PURPOSES],
    source: '公開情報および名刺交換による取得（デモ）',
    storageLocation: 'JP',
    fields: DEMO_CONTACT_FIELDS.map((f) => ({ ...f })),
  });
  if (opts.demoContacts > 0) {
    await importRecords(ctx, system, 'contacts', () => demoRows(opts.demoContacts), (p) => {
      // The bar counts rows; the steps after the last row (the search index, the commit) end at the total.
      if (p.phase === 'write' || p.phase === 'done') opts.onProgress?.(p.rows, opts.demoContacts);
    });
  }
  // Handler grants are made by the owner; the seed acts for them through the same service rules.
  const owner: Actor = { ...system, kind: 'user', userId: ids.get('owner') as never, login: 'owner', employmentType: 'employee', roles: ['data_owner'], mfa: true };
  const until = new Date(now.getTime() + 180 * 86_400_000);
  const all = DEMO_CONTACT_FIELDS.map((f) => f.name);
  await createGrant(ctx, owner, 'contacts', {
    subjectType: 'user', subjectId: ids.get('handler')!, fields: all, unmaskFields: ['person_name', 'person_name_kana', 'email', 'direct_phone'],
    purposes: ['営業活動', '本人対応'], validUntil: until, reason: 'デモ: 営業担当',
  });
  await createGrant(ctx, owner, 'contacts', {
    subjectType: 'user', subjectId: ids.get('haken')!,
    fields: DEMO_CONTACT_FIELDS.filter((f) => f.classification === 'public' || f.classification === 'internal').map((f) => f.name),
    purposes: ['営業活動'], validUntil: until, reason: 'デモ: 派遣社員は企業情報のみ',
  });
  return { created: true, credentials };
}

/** The demo contacts as import rows, in arrays of 1,000 (importRecords takes rows in arrays). */
async function* demoRows(count: number): AsyncGenerator<ImportRow[], void, undefined> {
  let line = 1;
  let batch: ImportRow[] = [];
  for (const c of generateDemoContacts(count, 1)) {
    line++;
    batch.push({ line, values: c as unknown as Record<string, string> });
    if (batch.length === 1000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
