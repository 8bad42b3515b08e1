/**
 * Approval policies per request kind: how many approvals, who is eligible (roles, groups, the
 * requester's supervisor), how many rejections end a request, how long it waits, how long an approval
 * lasts from the moment it is given, and the few allowed to break glass. Administrator and CPO edit;
 * the server refuses a policy with zero approvals and says why.
 */
import { useMemo, useState } from 'react';
import { Badge, Button, Group, Modal, MultiSelect, NumberInput, Paper, SimpleGrid, Stack, Switch, Table, Text } from '@mantine/core';
import { ROLES, type ApprovalPolicyView, type Role } from '@mamori/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import { Loading } from '../../components/states.tsx';
import { canEditApprovalPolicies } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { byId, useGroups, useUsers } from '../../lib/queries.ts';
import { policies, savePolicy } from './api.ts';

const POLICIES_KEY = ['approvals', 'policies'] as const;

/** Whole days or hours read better than minutes: which key and number to show. */
function duration(minutes: number): { key: 'approvals.policy.days' | 'approvals.policy.hours' | 'approvals.policy.minutes'; n: number } {
  if (minutes % 1440 === 0) return { key: 'approvals.policy.days', n: minutes / 1440 };
  if (minutes % 60 === 0) return { key: 'approvals.policy.hours', n: minutes / 60 };
  return { key: 'approvals.policy.minutes', n: minutes };
}

function EditPolicyModal({ policy, onClose }: { policy: ApprovalPolicyView; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const users = useUsers(true);
  const groups = useGroups(true);
  const [required, setRequired] = useState<number | string>(policy.requiredApprovals);
  const [rejections, setRejections] = useState<number | string>(policy.rejectionsToEnd);
  const [roles, setRoles] = useState<string[]>(policy.eligibleRoles);
  const [groupIds, setGroupIds] = useState<string[]>(policy.eligibleGroupIds);
  const [supervisor, setSupervisor] = useState(policy.requesterSupervisor);
  const [ttl, setTtl] = useState<number | string>(policy.requestTtlMinutes);
  const [grant, setGrant] = useState<number | string>(policy.grantMaxMinutes);
  const [breakGlass, setBreakGlass] = useState<string[]>(policy.breakGlassUserIds);
  const save = useMutation({
    mutationFn: () => savePolicy(policy.kind, {
      requiredApprovals: Number(required), rejectionsToEnd: Number(rejections), eligibleRoles: roles as Role[], eligibleGroupIds: groupIds,
      requesterSupervisor: supervisor, requestTtlMinutes: Number(ttl), grantMaxMinutes: Number(grant), breakGlassUserIds: breakGlass, version: policy.version,
    }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: POLICIES_KEY });
      onClose();
    },
  });
  const people = (users.data ?? []).filter((u) => u.status === 'active' && u.kind === 'person' && u.employmentType !== 'dispatch');
  return (
    <Modal opened onClose={onClose} size="lg" title={<Text fw={700}>{t('approvals.policy.editTitle', { kind: t(`approvals.kind.${policy.kind}`) })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <Stack gap="sm">
          <SimpleGrid cols={2}>
            <NumberInput size="xs" label={t('approvals.policy.required')} description={t('approvals.policy.requiredHint')} value={required} onChange={setRequired} min={0} max={10} allowDecimal={false} required />
            <NumberInput size="xs" label={t('approvals.policy.rejections')} value={rejections} onChange={setRejections} min={1} max={10} allowDecimal={false} required />
            <NumberInput size="xs" label={t('approvals.policy.ttl')} description={t('approvals.policy.inMinutes')} value={ttl} onChange={setTtl} min={5} max={43200} allowDecimal={false} required />
            <NumberInput size="xs" label={t('approvals.policy.grant')} description={t('approvals.policy.grantHint')} value={grant} onChange={setGrant} min={5} max={43200} allowDecimal={false} required />
          </SimpleGrid>
          <MultiSelect size="xs" label={t('approvals.policy.roles')} value={roles} onChange={setRoles} data={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} clearable />
          <MultiSelect size="xs" label={t('approvals.policy.groups')} value={groupIds} onChange={setGroupIds} data={(groups.data ?? []).map((g) => ({ value: g.id, label: g.name }))} clearable searchable nothingFoundMessage={t('common.nothingFound')} />
          <Switch size="xs" label={t('approvals.policy.supervisor')} checked={supervisor} onChange={(e) => setSupervisor(e.currentTarget.checked)} />
          <MultiSelect size="xs" label={t('approvals.policy.breakGlass')} description={t('approvals.policy.breakGlassHint')} value={breakGlass} onChange={setBreakGlass} data={people.map((u) => ({ value: u.id, label: userLabel(u) }))} clearable searchable maxValues={5} nothingFoundMessage={t('common.nothingFound')} />
          <Text size="xs" c="dimmed">{t('approvals.policy.selfNote')}</Text>
          <ErrorAlert error={save.error} compact showMessage />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={save.isPending}>{t('approvals.policy.save')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function PoliciesPage() {
  const { t } = useTranslation();
  const me = useMe();
  const editable = canEditApprovalPolicies(me.user);
  const list = useQuery({ queryKey: POLICIES_KEY, queryFn: policies, staleTime: 10_000 });
  const users = useUsers(editable);
  const groups = useGroups(editable);
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const groupMap = useMemo(() => byId(groups.data), [groups.data]);
  const [editing, setEditing] = useState<ApprovalPolicyView | null>(null);
  if (list.isPending) return <Loading />;
  if (list.isError) return <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />;
  return (
    <Stack gap="xs">
      <Paper withBorder p="xs"><Text size="sm">{t('approvals.policy.intro')}</Text></Paper>
      <Paper withBorder p="xs">
        <Table aria-label={t('approvals.policy.tableLabel')} data-testid="approval-policies">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('approvals.field.kind')}</Table.Th>
              <Table.Th>{t('approvals.policy.required')}</Table.Th>
              <Table.Th>{t('approvals.policy.eligible')}</Table.Th>
              <Table.Th>{t('approvals.policy.rejections')}</Table.Th>
              <Table.Th>{t('approvals.policy.ttl')}</Table.Th>
              <Table.Th>{t('approvals.policy.grant')}</Table.Th>
              <Table.Th>{t('approvals.policy.breakGlass')}</Table.Th>
              <Table.Th>{t('users.field.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.map((p) => (
              <Table.Tr key={p.kind}>
                <Table.Td className="nowrap">{t(`approvals.kind.${p.kind}`)}</Table.Td>
                <Table.Td>{p.requiredApprovals}</Table.Td>
                <Table.Td>
                  <Group gap={3}>
                    {p.eligibleRoles.map((r) => <Badge key={r} size="xs" variant="light">{t(`roles.${r}`)}</Badge>)}
                    {p.eligibleGroupIds.map((g) => <Badge key={g} size="xs" color="grape" variant="light">{groupMap.get(g)?.name ?? g.slice(0, 8)}</Badge>)}
                    {p.requesterSupervisor && <Badge size="xs" color="teal" variant="light">{t('approvals.policy.supervisorShort')}</Badge>}
                  </Group>
                </Table.Td>
                <Table.Td>{p.rejectionsToEnd}</Table.Td>
                <Table.Td className="nowrap">{t(duration(p.requestTtlMinutes).key, { n: duration(p.requestTtlMinutes).n })}</Table.Td>
                <Table.Td className="nowrap">{t(duration(p.grantMaxMinutes).key, { n: duration(p.grantMaxMinutes).n })}</Table.Td>
                <Table.Td>{p.breakGlassUserIds.length === 0 ? <Text span size="xs" c="dimmed">{t('common.none')}</Text> : p.breakGlassUserIds.map((u) => userMap.get(u)?.displayName ?? u.slice(0, 8)).join(t('common.listSeparator'))}</Table.Td>
                <Table.Td>{editable && <Button size="compact-xs" variant="light" onClick={() => setEditing(p)}>{t('approvals.policy.edit')}</Button>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Paper>
      {editing && <EditPolicyModal policy={editing} onClose={() => setEditing(null)} />}
    </Stack>
  );
}
