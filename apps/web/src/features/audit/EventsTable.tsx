/** Audit events as a dense table: when, who, what, on what, decision. Used by the log and the per-record view. */
import { Code, Table, Text } from '@mantine/core';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { DecisionBadge, EmploymentBadge } from '../../components/badges.tsx';
import { datasetLabel, fieldLabel, userLabel } from '../../components/labels.ts';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import type { AuditEntry, DatasetView, UserView } from '../../lib/types.ts';

export function actionLabel(t: TFunction, action: string): string {
  return t(`actions.${action}`, { defaultValue: action });
}

/** Field names as their labels where the dataset is known (the log stores names). */
export function fieldNames(ds: DatasetView | undefined, names: string[], lang: 'ja' | 'en', separator: string): string {
  return names.map((n) => { const f = ds?.fields.find((x) => x.name === n); return f ? fieldLabel(f, lang) : n; }).join(separator);
}

export function EventsTable({ events, users, datasets, onOpen, compact }: {
  events: AuditEntry[];
  users: Map<string, UserView>;
  datasets: Map<string, DatasetView>;
  onOpen?: (e: AuditEntry) => void;
  compact?: boolean;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  return (
    <Table.ScrollContainer minWidth={compact ? 700 : 1100} maxHeight={compact ? 420 : 'calc(100vh - 300px)'}>
      <Table aria-label={t('audit.tableLabel')} data-testid="audit-events">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('audit.col.at')}</Table.Th>
            <Table.Th>{t('audit.col.actor')}</Table.Th>
            <Table.Th>{t('audit.col.action')}</Table.Th>
            {!compact && <Table.Th>{t('audit.col.target')}</Table.Th>}
            <Table.Th>{t('audit.col.fields')}</Table.Th>
            <Table.Th>{t('audit.col.purpose')}</Table.Th>
            <Table.Th miw={60}>{t('audit.col.decision')}</Table.Th>
            {!compact && <Table.Th>{t('audit.col.rule')}</Table.Th>}
            <Table.Th>{t('audit.col.result')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => {
            const ev = e.event;
            const u = ev.actor.user ? users.get(ev.actor.user) : undefined;
            const ds = ev.dataset ? datasets.get(ev.dataset) : undefined;
            const subject = ev.subject ? users.get(ev.subject) : undefined;
            const open = onOpen ? () => onOpen(e) : undefined;
            return (
              <Table.Tr
                key={e.id}
                data-clickable={open ? 'true' : undefined}
                tabIndex={open ? 0 : undefined}
                onClick={open}
                onKeyDown={open ? (k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); open(); } } : undefined}
                title={open ? t('audit.openEvent', { id: e.id }) : undefined}
                data-action={ev.action}
              >
                <Table.Td className="nowrap">{formatDateTime(e.at, lang)}</Table.Td>
                <Table.Td className="nowrap">
                  {u ? userLabel(u) : ev.actor.user ? <Code fz="xs">{ev.actor.user.slice(0, 8)}</Code> : t(`audit.actorKind.${ev.actor.kind}`, { defaultValue: ev.actor.kind })}
                  {ev.actor.employment === 'dispatch' && <> <EmploymentBadge value="dispatch" /></>}
                </Table.Td>
                <Table.Td className="nowrap">{actionLabel(t, ev.action)}</Table.Td>
                {!compact && (
                  <Table.Td>
                    {ds ? datasetLabel(ds, lang) : ''}
                    {ev.records.length > 0 && <Text span size="xs" c="dimmed"> {t('audit.recordCount', { n: ev.records.length })}</Text>}
                    {subject && <Text span size="xs"> {t('audit.subject')}: {userLabel(subject)}</Text>}
                  </Table.Td>
                )}
                <Table.Td maw={240} style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={fieldNames(ds, ev.fields, lang, t('common.listSeparator'))}>
                  {fieldNames(ds, ev.fields, lang, t('common.listSeparator'))}
                </Table.Td>
                <Table.Td className="nowrap">{ev.purpose ?? ''}</Table.Td>
                <Table.Td className="nowrap"><DecisionBadge value={ev.decision} /></Table.Td>
                {!compact && <Table.Td><Code fz="xs">{ev.rule}</Code></Table.Td>}
                <Table.Td className="nowrap">{t(`audit.resultValue.${ev.result}`, { defaultValue: ev.result })}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
