/**
 * Departments and groups (部署・グループ): what user forms and group grants pick from. Lists both;
 * administrators and HR add new ones (the server decides: `user.update`).
 */
import { useMemo, useState } from 'react';
import { Badge, Button, Group, MultiSelect, Paper, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import { QueryTable } from '../../components/QueryTable.tsx';
import { canManageUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { byId, useDepartments, useGroups, useUsers } from '../../lib/queries.ts';
import type { Department, Group as GroupRow, UserView } from '../../lib/types.ts';
import { createDepartment, createGroup } from './api.ts';

export default function OrganizationPage() {
  const me = useMe();
  const manage = canManageUsers(me.user);
  const users = useUsers(true);
  return (
    <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="sm">
      <DepartmentsPanel manage={manage} users={users.data ?? []} />
      <GroupsPanel manage={manage} users={users.data ?? []} />
    </SimpleGrid>
  );
}

function DepartmentsPanel({ manage, users }: { manage: boolean; users: UserView[] }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const departments = useDepartments(true);
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => createDepartment(name.trim()),
    onSuccess: async () => {
      setName('');
      await qc.invalidateQueries({ queryKey: ['departments'] });
    },
  });
  const members = useMemo(() => {
    const m = new Map<string, number>();
    for (const u of users) if (u.departmentId && u.status !== 'retired') m.set(u.departmentId, (m.get(u.departmentId) ?? 0) + 1);
    return m;
  }, [users]);
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Title order={2} size="h4">{t('organization.departments.title')}</Title>
        {manage && (
          <form onSubmit={(e) => { e.preventDefault(); if (name.trim()) create.mutate(); }}>
            <Group align="flex-end" gap="xs">
              <TextInput label={t('organization.departments.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={100} required w={260} />
              <Button type="submit" leftSection={<IconPlus size={14} />} loading={create.isPending} disabled={!name.trim()}>{t('organization.departments.create')}</Button>
            </Group>
          </form>
        )}
        <ErrorAlert error={create.error} compact showMessage />
        <QueryTable<Department>
          query={departments}
          rowKey={(d) => d.id}
          label={t('organization.departments.title')}
          testId="departments-table"
          emptyTitle={t('organization.departments.empty')}
          columns={[
            { key: 'name', header: t('organization.departments.name'), cell: (d) => d.name, cellProps: () => ({ fw: 600 }) },
            { key: 'members', header: t('organization.members'), cell: (d) => t('users.count', { n: members.get(d.id) ?? 0 }) },
          ]}
        />
      </Stack>
    </Paper>
  );
}

function GroupsPanel({ manage, users }: { manage: boolean; users: UserView[] }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const groups = useGroups(true);
  const [name, setName] = useState('');
  const [memberIds, setMemberIds] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () => createGroup(name.trim(), memberIds),
    onSuccess: async () => {
      setName('');
      setMemberIds([]);
      await Promise.all([qc.invalidateQueries({ queryKey: ['groups'] }), qc.invalidateQueries({ queryKey: ['users'] })]);
    },
  });
  const userMap = useMemo(() => byId(users), [users]);
  const options = users.filter((u) => u.status === 'active' && u.kind === 'person').map((u) => ({ value: u.id, label: userLabel(u) }));
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Title order={2} size="h4">{t('organization.groups.title')}</Title>
        <Text size="xs" c="dimmed">{t('organization.groups.hint')}</Text>
        {manage && (
          <form onSubmit={(e) => { e.preventDefault(); if (name.trim()) create.mutate(); }}>
            <Stack gap="xs">
              <TextInput label={t('organization.groups.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={100} required w={260} />
              <MultiSelect size="xs" label={t('organization.groups.members')} value={memberIds} onChange={setMemberIds} data={options} searchable clearable placeholder={t('organization.groups.membersNone')} nothingFoundMessage={t('common.nothingFound')} />
              <Group><Button type="submit" leftSection={<IconPlus size={14} />} loading={create.isPending} disabled={!name.trim()}>{t('organization.groups.create')}</Button></Group>
            </Stack>
          </form>
        )}
        <ErrorAlert error={create.error} compact showMessage />
        <QueryTable<GroupRow>
          query={groups}
          rowKey={(g) => g.id}
          rowProps={(g) => ({ 'data-group': g.name })}
          label={t('organization.groups.title')}
          testId="groups-table"
          emptyTitle={t('organization.groups.empty')}
          columns={[
            { key: 'name', header: t('organization.groups.name'), cell: (g) => g.name, cellProps: () => ({ fw: 600, className: 'nowrap' }) },
            {
              key: 'members', header: t('organization.groups.members'), cell: (g) => (
                <Group gap={3}>
                  {g.memberIds.length === 0 ? <Text span size="xs" c="dimmed">—</Text> : g.memberIds.map((id) => <Badge key={id} size="xs" variant="light" color="gray">{userMap.get(id)?.displayName ?? id.slice(0, 8)}</Badge>)}
                </Group>
              ),
            },
          ]}
        />
      </Stack>
    </Paper>
  );
}
