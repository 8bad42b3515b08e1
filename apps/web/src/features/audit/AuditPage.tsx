/**
 * The audit log: filters (who, what, when, dataset, record, decision), a dense list, and each
 * event's full detail. Reading the log is itself audited by the server.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { Button, Group, Paper, Select, Stack, Text, TextInput } from '@mantine/core';
import { IconFilter, IconX } from '@tabler/icons-react';
import { ACTIONS } from '@mamori/contracts';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, userLabel } from '../../components/labels.ts';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { jstDayToIso } from '../../lib/format.ts';
import { byId, useDatasets, useUsers } from '../../lib/queries.ts';
import type { AuditEntry } from '../../lib/types.ts';
import { listAuditEvents, type AuditFilter } from './api.ts';
import { EventDetail } from './EventDetail.tsx';
import { actionLabel, EventsTable } from './EventsTable.tsx';

const PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Form = { actor: string | null; action: string | null; dataset: string | null; record: string; decision: string | null; from: string; to: string };
const EMPTY: Form = { actor: null, action: null, dataset: null, record: '', decision: null, from: '', to: '' };

export default function AuditPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const users = useUsers(true);
  const datasets = useDatasets();
  const [form, setForm] = useState<Form>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>({});
  const [open, setOpen] = useState<AuditEntry | null>(null);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  const recordInvalid = form.record.trim() !== '' && !UUID.test(form.record.trim());
  const rangeInvalid = form.from !== '' && form.to !== '' && form.from > form.to;

  const events = useInfiniteQuery({
    queryKey: ['audit', 'events', filter],
    queryFn: ({ pageParam, signal }) => listAuditEvents(filter, pageParam, PAGE, signal),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next,
    staleTime: 0,
    gcTime: 30_000,
  });

  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (recordInvalid || rangeInvalid) return;
    const from = form.from ? jstDayToIso(form.from) : null;
    const to = form.to ? jstDayToIso(form.to, { endOfDay: true }) : null;
    setFilter({
      ...(form.actor ? { actor: form.actor } : {}),
      ...(form.action ? { action: form.action } : {}),
      ...(form.dataset ? { dataset: form.dataset } : {}),
      ...(form.record.trim() ? { record: form.record.trim().toLowerCase() } : {}),
      ...(form.decision === 'allow' || form.decision === 'deny' ? { decision: form.decision } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    });
  };

  const userMap = useMemo(() => byId(users.data), [users.data]);
  const datasetMap = useMemo(() => byId(datasets.data), [datasets.data]);
  const rows = events.data?.pages.flatMap((p) => p.events) ?? [];
  const actionOptions = useMemo(() => ACTIONS.map((a) => ({ value: a, label: `${actionLabel(t, a)} (${a})` })), [t]);

  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <form onSubmit={apply} aria-label={t('audit.filters')}>
          <Group gap="xs" align="flex-end">
            <Select
              label={t('audit.filter.actor')}
              w={220}
              searchable
              clearable
              allowDeselect
              placeholder={t('audit.filter.any')}
              value={form.actor}
              onChange={(v) => set('actor', v)}
              data={(users.data ?? []).map((u) => ({ value: u.id, label: userLabel(u) }))}
              nothingFoundMessage={t('common.nothingFound')}
            />
            <Select label={t('audit.filter.action')} w={250} searchable clearable allowDeselect placeholder={t('audit.filter.any')} value={form.action} onChange={(v) => set('action', v)} data={actionOptions} nothingFoundMessage={t('common.nothingFound')} />
            <TextInput label={t('audit.filter.from')} type="date" w={140} value={form.from} onChange={(e) => set('from', e.currentTarget.value)} />
            <TextInput label={t('audit.filter.to')} type="date" w={140} value={form.to} onChange={(e) => set('to', e.currentTarget.value)} error={rangeInvalid ? t('audit.filter.rangeInvalid') : null} />
            <Select
              label={t('audit.filter.dataset')}
              w={200}
              clearable
              allowDeselect
              placeholder={t('audit.filter.any')}
              value={form.dataset}
              onChange={(v) => set('dataset', v)}
              data={(datasets.data ?? []).map((d) => ({ value: d.id, label: datasetLabel(d, lang) }))}
            />
            <TextInput
              label={t('audit.filter.record')}
              w={290}
              placeholder="xxxxxxxx-xxxx-…"
              value={form.record}
              onChange={(e) => set('record', e.currentTarget.value)}
              error={recordInvalid ? t('audit.filter.recordInvalid') : null}
              ff="monospace"
            />
            <Select
              label={t('audit.filter.decision')}
              w={110}
              clearable
              allowDeselect
              placeholder={t('audit.filter.any')}
              value={form.decision}
              onChange={(v) => set('decision', v)}
              data={[{ value: 'allow', label: t('decision.allow') }, { value: 'deny', label: t('decision.deny') }]}
            />
            <Button type="submit" leftSection={<IconFilter size={14} />}>{t('audit.filter.apply')}</Button>
            <Button variant="default" leftSection={<IconX size={14} />} onClick={() => { setForm(EMPTY); setFilter({}); }}>{t('audit.filter.reset')}</Button>
          </Group>
          <Text size="xs" c="dimmed" mt={4}>{t('audit.filter.jstNote')}</Text>
        </form>
      </Paper>
      <Paper withBorder p="xs">
        {events.isPending ? (
          <Loading />
        ) : events.isError ? (
          <ErrorAlert error={events.error} onRetry={() => void events.refetch()} />
        ) : rows.length === 0 ? (
          <Empty title={t('audit.empty.title')}>{t('audit.empty.body')}</Empty>
        ) : (
          <Stack gap={6}>
            <Text size="xs" aria-live="polite">{t('audit.count', { n: rows.length })}</Text>
            <EventsTable events={rows} users={userMap} datasets={datasetMap} onOpen={setOpen} />
            {events.hasNextPage && (
              <Group justify="center">
                <Button variant="default" loading={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>{t('audit.more')}</Button>
              </Group>
            )}
          </Stack>
        )}
      </Paper>
      {open && <EventDetail entry={open} users={userMap} datasets={datasetMap} onClose={() => setOpen(null)} />}
    </Stack>
  );
}
