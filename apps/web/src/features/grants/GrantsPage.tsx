/** The handler register (取扱者登録) of a dataset: who may handle which fields, for which purposes, until when. */
import { useMemo, useState } from 'react';
import { Badge, Button, Code, Group, Modal, Paper, Select, Stack, Switch, Table, Text, Textarea, Tooltip } from '@mantine/core';
import { IconKey } from '@tabler/icons-react';
import { isPersonalLevel } from '@mamori/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { EmploymentBadge } from '../../components/badges.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, fieldLabel, userLabel } from '../../components/labels.ts';
import { Empty, Loading } from '../../components/states.tsx';
import { canGrant, canReadUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate, formatDateTime, isJstMidnight } from '../../lib/format.ts';
import { byId, useDatasets, useGroups, useUsers } from '../../lib/queries.ts';
import type { GrantRecord } from '../../lib/types.ts';
import { listGrants, revokeGrant } from './api.ts';
import { ExpireGrantModal } from './ExpireGrantModal.tsx';
import { GrantForm } from './GrantForm.tsx';
import { GRANT_STATE_COLORS, grantState } from './logic.ts';

export default function GrantsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const qc = useQueryClient();
  const datasets = useDatasets();
  const users = useUsers(canReadUsers(me.user));
  const groups = useGroups(canReadUsers(me.user));
  const [chosen, setChosen] = useState<string | null>(null);
  const [showEnded, setShowEnded] = useState(false);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<GrantRecord | null>(null);
  const [expiring, setExpiring] = useState<GrantRecord | null>(null);
  const [reason, setReason] = useState('');
  const list = useMemo(() => datasets.data ?? [], [datasets.data]);
  const ds = list.find((d) => d.name === chosen) ?? list[0];
  const grants = useQuery({ queryKey: ['grants', ds?.name], queryFn: () => listGrants(ds!.name), enabled: Boolean(ds), staleTime: 10_000 });
  const revoke = useMutation({
    mutationFn: () => revokeGrant(revoking!.id, reason.trim()),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['grants', ds?.name] });
      setRevoking(null);
      setReason('');
    },
  });
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const groupMap = useMemo(() => byId(groups.data), [groups.data]);
  const fieldDefs = useMemo(() => new Map((ds?.fields ?? []).map((f) => [f.name, f])), [ds]);

  if (datasets.isPending) return <Loading />;
  if (datasets.isError) return <ErrorAlert error={datasets.error} onRetry={() => void datasets.refetch()} />;
  if (!ds) return <Empty title={t('datasets.empty')} />;

  const now = new Date();
  const rows = (grants.data ?? []).filter((g) => g.datasetId === ds.id && (showEnded || ['active', 'scheduled'].includes(grantState(g, now))));
  const fieldList = (names: string[]) => (
    <Group gap={3}>
      {names.map((n) => {
        const f = fieldDefs.get(n);
        const personal = f ? isPersonalLevel(f.classification) : false;
        return <Badge key={n} size="xs" variant={personal ? 'filled' : 'light'} color={personal ? 'orange' : 'gray'}>{f ? fieldLabel(f, lang) : n}</Badge>;
      })}
    </Group>
  );
  const subjectName = (g: GrantRecord) => {
    if (g.subjectType === 'group') return `${t('grants.subjectType.group')}: ${groupMap.get(g.subjectId)?.name ?? g.subjectId.slice(0, 8)}`;
    const u = userMap.get(g.subjectId);
    return u ? userLabel(u) : g.subjectId.slice(0, 8);
  };
  // A whole-day end shows as a date; an end brought forward to a time of day shows that time too.
  const untilText = (iso: string) => (isJstMidnight(iso) ? formatDate(iso, lang) : formatDateTime(iso, lang, { seconds: false }));
  const subjectCell = (g: GrantRecord) => {
    if (g.subjectType === 'group') return <>{t('grants.subjectType.group')}: {groupMap.get(g.subjectId)?.name ?? <Code fz="xs">{g.subjectId.slice(0, 8)}</Code>}</>;
    const u = userMap.get(g.subjectId);
    return u ? <Group gap={4} wrap="nowrap"><Text span size="xs" fw={600}>{userLabel(u)}</Text><EmploymentBadge value={u.employmentType} /></Group> : <Code fz="xs">{g.subjectId.slice(0, 8)}</Code>;
  };

  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <Group justify="space-between" align="flex-end">
          <Group align="flex-end" gap="sm">
            <Select label={t('records.dataset')} w={300} value={ds.name} data={list.map((d) => ({ value: d.name, label: datasetLabel(d, lang) }))} onChange={setChosen} />
            <Switch size="xs" label={t('grants.showEnded')} checked={showEnded} onChange={(e) => setShowEnded(e.currentTarget.checked)} mb={6} />
          </Group>
          {canGrant(me.user, ds) ? (
            <Button leftSection={<IconKey size={14} />} onClick={() => setCreating(true)} disabled={!users.data}>{t('grants.create')}</Button>
          ) : (
            <Text size="xs" c="dimmed">{t('grants.whoMayGrant')}</Text>
          )}
        </Group>
      </Paper>
      <Paper withBorder p="xs">
        {grants.isPending ? (
          <Loading />
        ) : grants.isError ? (
          <ErrorAlert error={grants.error} onRetry={() => void grants.refetch()} />
        ) : rows.length === 0 ? (
          <Empty title={t('grants.empty')}>{t('grants.emptyHint')}</Empty>
        ) : (
          <Table.ScrollContainer minWidth={1200} maxHeight="calc(100vh - 220px)">
            <Table aria-label={t('grants.tableLabel')} data-testid="grants-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('grants.col.subject')}</Table.Th>
                  <Table.Th>{t('grants.col.fields')}</Table.Th>
                  <Table.Th>{t('grants.col.unmask')}</Table.Th>
                  <Table.Th>{t('grants.col.purposes')}</Table.Th>
                  <Table.Th>{t('grants.col.write')}</Table.Th>
                  <Table.Th>{t('grants.col.period')}</Table.Th>
                  <Table.Th>{t('grants.col.state')}</Table.Th>
                  <Table.Th>{t('grants.col.reason')}</Table.Th>
                  <Table.Th>{t('grants.col.grantedBy')}</Table.Th>
                  <Table.Th>{t('users.field.actions')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((g) => {
                  const state = grantState(g, now);
                  const by = userMap.get(g.grantedBy);
                  return (
                    <Table.Tr key={g.id}>
                      <Table.Td className="nowrap">{subjectCell(g)}</Table.Td>
                      <Table.Td maw={360}>{fieldList(g.fields)}</Table.Td>
                      <Table.Td maw={220}>{g.unmaskFields.length ? fieldList(g.unmaskFields) : <Text span size="xs" c="dimmed">—</Text>}</Table.Td>
                      <Table.Td className="nowrap">{g.purposes.join(t('common.listSeparator'))}</Table.Td>
                      <Table.Td className="nowrap">{g.canWrite ? t('common.yes') : t('common.no')}</Table.Td>
                      <Table.Td className="nowrap" data-testid="grant-period">{formatDate(g.validFrom, lang)} – {untilText(g.validUntil)}</Table.Td>
                      <Table.Td><Badge color={GRANT_STATE_COLORS[state]} variant={state === 'active' ? 'light' : 'filled'}>{t(`grants.state.${state}`)}</Badge></Table.Td>
                      <Table.Td maw={200}><Tooltip label={g.reason} disabled={g.reason.length < 20} multiline w={300}><Text size="xs" truncate>{g.reason}</Text></Tooltip></Table.Td>
                      <Table.Td className="nowrap">{by ? by.displayName : g.grantedBy ? <Code fz="xs">{g.grantedBy.slice(0, 8)}</Code> : '—'}</Table.Td>
                      <Table.Td className="nowrap">
                        {canGrant(me.user, ds) && state !== 'revoked' && (
                          <Group gap={4} wrap="nowrap">
                            {state === 'active' && <Button size="compact-xs" variant="subtle" color="orange" onClick={() => setExpiring(g)}>{t('grants.expire.open')}</Button>}
                            <Button size="compact-xs" variant="light" color="red" onClick={() => setRevoking(g)}>{t('grants.revoke')}</Button>
                          </Group>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Paper>
      {creating && <GrantForm dataset={ds} users={users.data ?? []} groups={groups.data ?? []} onClose={() => setCreating(false)} />}
      {expiring && <ExpireGrantModal grant={expiring} subject={subjectName(expiring)} onClose={() => setExpiring(null)} />}
      {revoking && (
        <Modal opened onClose={() => { setRevoking(null); revoke.reset(); }} title={<Text fw={700}>{t('grants.revokeTitle')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
          <form onSubmit={(e) => { e.preventDefault(); revoke.mutate(); }}>
            <Stack gap="sm">
              <Text size="sm">{t('grants.revokeBody')}</Text>
              <Textarea size="xs" label={t('users.status.reason')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required maxLength={500} data-autofocus />
              <ErrorAlert error={revoke.error} compact />
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setRevoking(null)}>{t('common.cancel')}</Button>
                <Button type="submit" color="red" loading={revoke.isPending} disabled={!reason.trim()}>{t('grants.revoke')}</Button>
              </Group>
            </Stack>
          </form>
        </Modal>
      )}
    </Stack>
  );
}
