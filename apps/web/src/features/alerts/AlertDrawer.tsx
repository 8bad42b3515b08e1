/**
 * One alert: what the rule saw (summary), who handled it and their notes, the evidence as audit
 * events (shown with the audit view's own table and detail), and — for the security center —
 * acknowledge and close with a note.
 */
import { useMemo, useState } from 'react';
import { Button, Code, Drawer, Group, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { canHandleAlerts, canReadUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { byId, useDatasets, useUsers } from '../../lib/queries.ts';
import type { AuditEntry } from '../../lib/types.ts';
import { EventDetail } from '../audit/EventDetail.tsx';
import { EventsTable } from '../audit/EventsTable.tsx';
import { acknowledgeAlert, closeAlert, getAlert } from './api.ts';
import { AlertStatusBadge, SeverityBadge } from './badges.tsx';

export function AlertDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const qc = useQueryClient();
  const alert = useQuery({ queryKey: ['alert', id], queryFn: () => getAlert(id) });
  const users = useUsers(canReadUsers(me.user));
  const datasets = useDatasets();
  const [note, setNote] = useState('');
  const [event, setEvent] = useState<AuditEntry | null>(null);
  const done = async () => {
    setNote('');
    await qc.invalidateQueries({ queryKey: ['alerts'] });
    await qc.invalidateQueries({ queryKey: ['alert', id] });
  };
  const ack = useMutation({ mutationFn: () => acknowledgeAlert(id, note.trim()), onSuccess: done });
  const close = useMutation({ mutationFn: () => closeAlert(id, note.trim()), onSuccess: done });
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const datasetMap = useMemo(() => byId(datasets.data), [datasets.data]);
  const a = alert.data;
  const entries: AuditEntry[] = (a?.events ?? []).map((e) => ({ id: e.logIndex, logIndex: e.logIndex, at: e.event.at, event: e.event }));
  const mayAct = canHandleAlerts(me.user) && a !== undefined && a.status !== 'closed';

  return (
    <Drawer opened onClose={onClose} position="right" size="xl" title={<Text fw={700}>{t('alerts.detail.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      {alert.isPending ? <Loading /> : alert.error ? <ErrorAlert error={alert.error} /> : a && (
        <Stack gap="sm" data-testid="alert-detail">
          <Group gap="xs">
            <SeverityBadge value={a.severity} />
            <AlertStatusBadge value={a.status} />
            <Title order={2} size="h4">{t(`alerts.rule.${a.rule}`)}</Title>
          </Group>
          <Text size="sm">{t(`alerts.ruleHelp.${a.rule}`)}</Text>
          <Table withRowBorders={false} verticalSpacing={2}>
            <Table.Tbody>
              <Table.Tr><Table.Th w={180}>{t('alerts.col.subject')}</Table.Th><Table.Td>{a.subjectLogin ?? <Code fz="xs">{a.subject}</Code>}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>{t('alerts.col.createdAt')}</Table.Th><Table.Td>{formatDateTime(a.createdAt, lang)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>{t('alerts.detail.window')}</Table.Th><Table.Td>{formatDateTime(a.firstEventAt, lang)} – {formatDateTime(a.lastEventAt, lang)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>{t('alerts.col.events')}</Table.Th><Table.Td>{a.eventCount}</Table.Td></Table.Tr>
              {Object.entries(a.summary).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => (
                <Table.Tr key={k}><Table.Th>{t(`alerts.summary.${k}`, { defaultValue: k })}</Table.Th><Table.Td>{Array.isArray(v) ? v.join(t('common.listSeparator')) : String(v)}</Table.Td></Table.Tr>
              ))}
              {a.acknowledgedAt && <Table.Tr><Table.Th>{t('alerts.detail.acknowledged')}</Table.Th><Table.Td>{formatDateTime(a.acknowledgedAt, lang)} {a.acknowledgedBy}</Table.Td></Table.Tr>}
              {a.closedAt && <Table.Tr><Table.Th>{t('alerts.detail.closed')}</Table.Th><Table.Td>{formatDateTime(a.closedAt, lang)} {a.closedBy}</Table.Td></Table.Tr>}
            </Table.Tbody>
          </Table>
          {a.notes.length > 0 && (
            <Stack gap={4} data-testid="alert-notes">
              <Text fw={700} size="sm">{t('alerts.detail.notes')}</Text>
              {a.notes.map((n) => (
                <Text key={`${n.at}-${n.status}`} size="sm"><AlertStatusBadge value={n.status} /> {formatDateTime(n.at, lang)} — {n.note}</Text>
              ))}
            </Stack>
          )}
          {mayAct && (
            <form onSubmit={(e) => { e.preventDefault(); if (note.trim()) close.mutate(); }}>
              <Stack gap="xs">
                <Textarea label={t('alerts.detail.note')} description={t('alerts.detail.noteHint')} value={note} onChange={(e) => setNote(e.currentTarget.value)} maxLength={2000} autosize minRows={2} />
                <ErrorAlert error={ack.error ?? close.error} compact showMessage />
                <Group justify="flex-end">
                  {a.status === 'open' && <Button variant="default" loading={ack.isPending} onClick={() => ack.mutate()}>{t('alerts.detail.acknowledge')}</Button>}
                  <Button type="submit" color="green" loading={close.isPending} disabled={!note.trim()}>{t('alerts.detail.close')}</Button>
                </Group>
              </Stack>
            </form>
          )}
          <Text fw={700} size="sm">{t('alerts.detail.evidence', { n: a.evidence.length })}</Text>
          {a.events === null ? (
            <Text size="sm">{t('alerts.detail.evidenceIndexes')} {a.evidence.map((i) => <Code key={i} fz="xs" mr={4}>{i}</Code>)}</Text>
          ) : (
            <EventsTable events={entries} users={userMap} datasets={datasetMap} onOpen={setEvent} compact />
          )}
        </Stack>
      )}
      {event && <EventDetail entry={event} users={userMap} datasets={datasetMap} onClose={() => setEvent(null)} />}
    </Drawer>
  );
}
