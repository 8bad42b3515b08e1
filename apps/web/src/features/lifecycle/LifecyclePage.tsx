/**
 * Joiners, movers and leavers (入社・異動・退職): the timeline of identity changes from the audit log —
 * joiners, movers, dispatch changes, leavers with their cause (SCIM, console, retirement date),
 * reactivations and roles moved by the SSO group mapping. Overall or for one person; by kind and
 * date. The server decides who may read it (`lifecycle.read`).
 */
import { useMemo, useState } from 'react';
import { Badge, Chip, Group, Paper, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { LIFECYCLE_KINDS, type LifecycleEvent, type LifecycleKind } from '@mamori/contracts';
import { QueryTable } from '../../components/QueryTable.tsx';
import { userLabel } from '../../components/labels.ts';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { byId, useUsers } from '../../lib/queries.ts';
import { getTimeline } from './api.ts';

const COLORS: Record<LifecycleKind, string> = { joiner: 'teal', mover: 'blue', dispatch: 'orange', leaver: 'red', reactivated: 'green', roles: 'violet' };

/** A date field (yyyy-mm-dd) as the start of that day, or the start of the next day for an end. */
function dayBound(value: string, end: boolean): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const d = new Date(`${value}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export default function LifecyclePage() {
  const { t } = useTranslation();
  const lang = useLang();
  const users = useUsers(true);
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const [userId, setUserId] = useState<string | null>(null);
  const [kinds, setKinds] = useState<LifecycleKind[]>([]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const filter = { userId, kinds, from: dayBound(from, false), to: dayBound(to, true) };
  const timeline = useQuery({ queryKey: ['lifecycle', filter], queryFn: () => getTimeline(filter), staleTime: 0 });
  const who = (id: string | null) => {
    if (!id) return t('lifecycle.system');
    const u = userMap.get(id);
    return u ? userLabel(u) : id.slice(0, 8);
  };
  const what = (e: LifecycleEvent) => {
    const parts: string[] = [];
    if (e.cause) parts.push(t(`lifecycle.cause.${e.cause}`, { defaultValue: e.cause }));
    if (e.departmentChanged) parts.push(t('lifecycle.departmentChanged'));
    if (e.managerChanged) parts.push(t('lifecycle.managerChanged'));
    if (e.rolesAdded.length > 0) parts.push(`+ ${e.rolesAdded.map((r) => t(`roles.${r}`)).join(', ')}`);
    if (e.rolesRemoved.length > 0) parts.push(`− ${e.rolesRemoved.map((r) => t(`roles.${r}`)).join(', ')}`);
    if (e.grantsSuspended) parts.push(t('lifecycle.grantsSuspended', { n: e.grantsSuspended }));
    return parts.join(' / ') || '—';
  };
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Text size="xs" c="dimmed">{t('lifecycle.hint')}</Text>
        <Group align="flex-end" gap="xs">
          <Select
            size="xs" w={260} label={t('lifecycle.person')} placeholder={t('lifecycle.everyone')} clearable searchable value={userId} onChange={setUserId}
            data={(users.data ?? []).filter((u) => u.kind === 'person').map((u) => ({ value: u.id, label: userLabel(u) }))} nothingFoundMessage={t('common.nothingFound')}
          />
          <TextInput size="xs" type="date" label={t('lifecycle.from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} w={150} />
          <TextInput size="xs" type="date" label={t('lifecycle.to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} w={150} />
        </Group>
        <Chip.Group multiple value={kinds} onChange={(v) => setKinds(v as LifecycleKind[])}>
          <Group gap={6} aria-label={t('lifecycle.kinds')}>
            {LIFECYCLE_KINDS.map((k) => <Chip key={k} value={k} size="xs" color={COLORS[k]}>{t(`lifecycle.kind.${k}`)}</Chip>)}
          </Group>
        </Chip.Group>
        <QueryTable<LifecycleEvent>
          query={timeline}
          rowKey={(e) => String(e.id)}
          rowProps={(e) => ({ 'data-kind': e.kind })}
          label={t('nav.lifecycle')}
          testId="lifecycle-timeline"
          emptyTitle={t('lifecycle.empty')}
          columns={[
            { key: 'at', header: t('lifecycle.at'), cell: (e) => formatDateTime(e.at, lang, { seconds: true }), cellProps: () => ({ className: 'nowrap' }) },
            { key: 'kind', header: t('lifecycle.kindLabel'), cell: (e) => <Badge size="sm" color={COLORS[e.kind]} variant="light">{t(`lifecycle.kind.${e.kind}`)}</Badge> },
            { key: 'user', header: t('lifecycle.person'), cell: (e) => who(e.userId), cellProps: () => ({ fw: 600 }) },
            { key: 'what', header: t('lifecycle.what'), cell: what },
            { key: 'by', header: t('lifecycle.by'), cell: (e) => who(e.actorUserId) },
          ]}
        />
      </Stack>
    </Paper>
  );
}
