/** The rules document: defaults written on first use, validated on every read and write. */
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isUuid } from '../../platform/ids.ts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { monitorRepository } from './monitor.repository.ts';
import { DEFAULT_RULES, MonitorRulesSchema, type MonitorRules } from './monitor.types.ts';

// TypeBox's own checker knows no formats until told (Fastify's validator has its own).
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => isUuid(v.toLowerCase()));

export type StoredRules = { rules: MonitorRules; version: number; updatedAt: string; updatedBy: string | null };

export async function readRules(db: Executor, now: Date): Promise<StoredRules> {
  const repo = monitorRepository(db);
  let s = await repo.settings();
  if (!s) {
    await repo.insertDefaultSettings(DEFAULT_RULES, now);
    s = (await repo.settings())!;
  }
  // A section added by a later version takes its default until someone saves the rules.
  const merged = { ...DEFAULT_RULES, ...(s.rules as Partial<MonitorRules>) };
  const rules = Value.Check(MonitorRulesSchema, merged) ? merged : DEFAULT_RULES;
  return { rules, version: s.version, updatedAt: s.updated_at.toISOString(), updatedBy: s.updated_by };
}

export async function loadRules(ctx: AppContext): Promise<MonitorRules> {
  return (await readRules(ctx.db, ctx.clock.now())).rules;
}
