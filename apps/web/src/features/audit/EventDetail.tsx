/** One audit event in full: a readable table of every part, and the event exactly as logged (JSON). */
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { Button, Code, Drawer, Group, Stack, Table, Tabs, Text } from '@mantine/core';
import { IconDownload, IconHistory } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useTranslation } from 'react-i18next';
import { DecisionBadge, EmploymentBadge } from '../../components/badges.tsx';
import { datasetLabel, userLabel } from '../../components/labels.ts';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import type { AuditEntry, DatasetView, UserView } from '../../lib/types.ts';
import { actionLabel } from './EventsTable.tsx';
import { getProofBundle } from './api.ts';

/** Saves the proof bundle as a file: built in memory, never through a URL the server sees again. */
function saveJson(name: string, value: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const RecordAccessModal = lazy(() => import('./RecordAccessModal.tsx'));

export function EventDetail({ entry, users, datasets, onClose }: {
  entry: AuditEntry;
  users: Map<string, UserView>;
  datasets: Map<string, DatasetView>;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const [recordHistory, setRecordHistory] = useState<string | null>(null);
  const proof = useMutation({
    mutationFn: (index: number) => getProofBundle(index),
    onSuccess: (bundle) => saveJson(`mamori-audit-proof-${bundle.leafIndex}.json`, bundle),
  });
  const ev = entry.event;
  const who = (id: string | null) => {
    if (!id) return '—';
    const u = users.get(id);
    return u ? <>{userLabel(u)} <Code fz="xs">{id}</Code></> : <Code fz="xs">{id}</Code>;
  };
  const ds = ev.dataset ? datasets.get(ev.dataset) : undefined;
  const list = (xs: string[]) => (xs.length ? xs.map((x) => <Code key={x} fz="xs" mr={4}>{x}</Code>) : '—');
  const rows: [string, ReactNode][] = [
    ['at', formatDateTime(ev.at, lang)],
    ['id', <>{entry.id} {entry.logIndex !== null ? t('audit.detail.logIndex', { n: entry.logIndex }) : t('audit.detail.pendingLog')}</>],
    ['actor', who(ev.actor.user)],
    ['actorKind', t(`audit.actorKind.${ev.actor.kind}`, { defaultValue: ev.actor.kind })],
    ['employment', <EmploymentBadge value={ev.actor.employment} />],
    ['mfa', ev.actor.mfa ? t('common.yes') : t('common.no')],
    ['session', ev.actor.session ? <Code fz="xs">{ev.actor.session}</Code> : '—'],
    ['token', ev.actor.token ? <Code fz="xs">{ev.actor.token}</Code> : '—'],
    ['action', <>{actionLabel(t, ev.action)} <Code fz="xs">{ev.action}</Code></>],
    ['dataset', ds ? <>{datasetLabel(ds, lang)} <Code fz="xs">{ds.name}</Code></> : ev.dataset ? <Code fz="xs">{ev.dataset}</Code> : '—'],
    [
      'records',
      ev.records.length === 0 ? '—' : (
        <Stack gap={2}>
          {ev.records.slice(0, 20).map((r) => (
            <Group key={r} gap={6} wrap="nowrap">
              <Code fz="xs">{r}</Code>
              <Button size="compact-xs" variant="subtle" leftSection={<IconHistory size={12} />} onClick={() => setRecordHistory(r)}>
                {t('audit.detail.whoAccessed')}
              </Button>
            </Group>
          ))}
          {ev.records.length > 20 && <Text size="xs" c="dimmed">{t('audit.detail.moreRecords', { n: ev.records.length - 20 })}</Text>}
        </Stack>
      ),
    ],
    ['fields', list(ev.fields)],
    ['purpose', ev.purpose ?? '—'],
    ['subject', who(ev.subject)],
    ['decision', <DecisionBadge value={ev.decision} />],
    ['rule', <Code fz="xs">{ev.rule}</Code>],
    ['reason', ev.reason || '—'],
    ['grants', list(ev.grants)],
    ['result', t(`audit.resultValue.${ev.result}`, { defaultValue: ev.result })],
    ['ip', ev.terminal.ip ?? '—'],
    ['ua', ev.terminal.ua ?? '—'],
    ['device', ev.terminal.device ?? '—'],
    ['request', ev.request ? <Code fz="xs">{ev.request}</Code> : '—'],
    ['details', Object.keys(ev.details).length ? <Code block fz="xs">{JSON.stringify(ev.details, null, 2)}</Code> : '—'],
  ];
  return (
    <Drawer opened onClose={onClose} position="right" size={640} title={<Text fw={700}>{t('audit.detail.title', { id: entry.id })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      {entry.logIndex !== null && (
        <Stack gap={4} mb="xs">
          <Group gap="xs">
            <Button size="xs" variant="default" leftSection={<IconDownload size={14} />} loading={proof.isPending} onClick={() => proof.mutate(entry.logIndex!)}>
              {t('audit.detail.downloadProof')}
            </Button>
            <Text size="xs" c="dimmed">{t('audit.detail.downloadProofHint')}</Text>
          </Group>
          {proof.isError && <ErrorAlert error={proof.error} compact />}
        </Stack>
      )}
      <Tabs defaultValue="table">
        <Tabs.List>
          <Tabs.Tab value="table">{t('audit.detail.readable')}</Tabs.Tab>
          <Tabs.Tab value="json">{t('audit.detail.json')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="table" pt="xs">
          <Table striped={false} withColumnBorders data-testid="event-detail">
            <Table.Tbody>
              {rows.map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Th w={140} scope="row" className="nowrap">{t(`audit.detail.${k}`)}</Table.Th>
                  <Table.Td style={{ wordBreak: 'break-all' }}>{v}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="json" pt="xs">
          <Code block fz="xs" data-testid="event-json">{JSON.stringify(ev, null, 2)}</Code>
        </Tabs.Panel>
      </Tabs>
      {recordHistory && (
        <Suspense fallback={null}>
          <RecordAccessModal recordId={recordHistory} onClose={() => setRecordHistory(null)} />
        </Suspense>
      )}
    </Drawer>
  );
}
