/**
 * The SIEM export cursors (migration 0006). Every move of a cursor is a compare-and-set from the
 * value its exporter read, so an exporter that lost its lock (or a second one) can never move it.
 */
import type { Executor } from '../../platform/db/database.ts';

export type ExportKind = 'syslog' | 'https' | 'file';

export type ExportCursorRow = {
  id: string;
  kind: ExportKind;
  target: string;
  next_seq: number;
  inflight_to: number | null;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  heartbeat_at: Date | null;
};

const COLUMNS = ['id', 'kind', 'target', 'next_seq', 'inflight_to', 'last_success_at', 'last_error', 'last_error_at', 'heartbeat_at'] as const;

export function exportRepository(db: Executor) {
  return {
    async ensure(id: string, kind: ExportKind, target: string): Promise<void> {
      await db.insertInto('audit_export_cursors').values({ id, kind, target }).onConflict((oc) => oc.column('id').doNothing()).execute();
    },

    async get(id: string): Promise<ExportCursorRow | undefined> {
      const r = await db.selectFrom('audit_export_cursors').select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return r && normalise(r);
    },

    async all(): Promise<ExportCursorRow[]> {
      return (await db.selectFrom('audit_export_cursors').select(COLUMNS).orderBy('id').execute()).map(normalise);
    },

    /** Pins the batch [from, to) before it is sent, so every retry resends exactly it. */
    async pin(id: string, from: number, to: number): Promise<boolean> {
      const r = await db.updateTable('audit_export_cursors').set({ inflight_to: to })
        .where('id', '=', id).where('next_seq', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** The destination acknowledged [from, to): the cursor moves to `to`. */
    async advance(id: string, from: number, to: number, at: Date): Promise<boolean> {
      const r = await db.updateTable('audit_export_cursors').set({ next_seq: to, inflight_to: null, last_success_at: at, heartbeat_at: at })
        .where('id', '=', id).where('next_seq', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** The destination itself says where it stands (a JSON Lines file): the cursor follows it. */
    async reposition(id: string, from: number, to: number, at: Date): Promise<boolean> {
      const r = await db.updateTable('audit_export_cursors').set({ next_seq: to, inflight_to: null, heartbeat_at: at })
        .where('id', '=', id).where('next_seq', '=', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async recordError(id: string, message: string, at: Date): Promise<void> {
      await db.updateTable('audit_export_cursors').set({ last_error: message, last_error_at: at, heartbeat_at: at }).where('id', '=', id).execute();
    },

    async heartbeat(id: string, at: Date): Promise<void> {
      await db.updateTable('audit_export_cursors').set({ heartbeat_at: at }).where('id', '=', id).execute();
    },
  };
}

function normalise(r: ExportCursorRow): ExportCursorRow {
  return { ...r, next_seq: Number(r.next_seq), inflight_to: r.inflight_to === null ? null : Number(r.inflight_to) };
}
