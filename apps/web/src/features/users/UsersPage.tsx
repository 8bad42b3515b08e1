/** Users: who they are, employment type, department, supervisor, roles, MFA, status; create, edit and retire. */
import { useMemo, useState } from 'react';
import { Badge, Button, Group, Paper, SegmentedControl, Stack, Table, Text, TextInput } from '@mantine/core';
import { IconSearch, IconUserPlus } from '@tabler/icons-react';
import type { UserStatus } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';
import { EmploymentBadge, UserStatusBadge } from '../../components/badges.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { canManageUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate } from '../../lib/format.ts';
import { byId, useDepartments, useGroups, useUsers } from '../../lib/queries.ts';
import type { UserView } from '../../lib/types.ts';
import { CreateUserModal } from './CreateUserModal.tsx';
import { EditUserModal } from './EditUserModal.tsx';
import { StatusDialog } from './StatusDialog.tsx';

export default function UsersPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const users = useUsers(true);
  const departments = useDepartments(true);
  const groups = useGroups(true);
  const [filter, setFilter] = useState('');
  const [show, setShow] = useState<'active' | 'all'>('active');
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [changing, setChanging] = useState<{ user: UserView; to: UserStatus } | null>(null);
  const manage = canManageUsers(me.user);

  const list = useMemo(() => users.data ?? [], [users.data]);
  const byUser = useMemo(() => byId(list), [list]);
  const deptName = useMemo(() => new Map((departments.data ?? []).map((d) => [d.id, d.name])), [departments.data]);
  const q = filter.trim().toLowerCase();
  const rows = list
    .filter((u) => show === 'all' || u.status !== 'retired')
    .filter((u) => !q || u.login.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q) || (u.departmentId && deptName.get(u.departmentId)?.toLowerCase().includes(q)));

  if (users.isPending) return <Loading />;
  if (users.isError) return <ErrorAlert error={users.error} onRetry={() => void users.refetch()} />;

  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <TextInput aria-label={t('users.filter')} placeholder={t('users.filter')} leftSection={<IconSearch size={14} />} value={filter} onChange={(e) => setFilter(e.currentTarget.value)} w={260} />
            <SegmentedControl size="xs" value={show} onChange={(v) => setShow(v === 'all' ? 'all' : 'active')} data={[{ value: 'active', label: t('users.showActive') }, { value: 'all', label: t('users.showAll') }]} aria-label={t('users.show')} />
            <Text size="xs" c="dimmed">{t('users.count', { n: rows.length })}</Text>
          </Group>
          {manage && <Button leftSection={<IconUserPlus size={14} />} onClick={() => setCreating(true)}>{t('users.create.open')}</Button>}
        </Group>
      </Paper>
      <Paper withBorder p="xs">
        {rows.length === 0 ? (
          <Empty title={t('users.empty')} />
        ) : (
          <Table.ScrollContainer minWidth={1100} maxHeight="calc(100vh - 220px)">
            <Table aria-label={t('users.tableLabel')} data-testid="users-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('users.field.displayName')}</Table.Th>
                  <Table.Th>{t('users.field.login')}</Table.Th>
                  <Table.Th>{t('users.field.employmentType')}</Table.Th>
                  <Table.Th>{t('users.field.department')}</Table.Th>
                  <Table.Th>{t('users.field.supervisor')}</Table.Th>
                  <Table.Th>{t('users.field.roles')}</Table.Th>
                  <Table.Th>{t('users.field.mfa')}</Table.Th>
                  <Table.Th>{t('users.field.status')}</Table.Th>
                  <Table.Th>{t('users.field.createdAt')}</Table.Th>
                  {manage && <Table.Th>{t('users.field.actions')}</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((u) => {
                  const sup = u.supervisorId ? byUser.get(u.supervisorId) : undefined;
                  const self = u.id === me.user.id;
                  return (
                    <Table.Tr key={u.id} data-login={u.login}>
                      <Table.Td className="nowrap" fw={600}>{u.displayName}{self && <Badge ml={4} size="xs" variant="outline">{t('users.you')}</Badge>}</Table.Td>
                      <Table.Td ff="monospace">{u.login}</Table.Td>
                      <Table.Td><EmploymentBadge value={u.employmentType} /></Table.Td>
                      <Table.Td className="nowrap">{u.departmentId ? (deptName.get(u.departmentId) ?? '—') : '—'}</Table.Td>
                      <Table.Td className="nowrap">{sup ? sup.displayName : '—'}</Table.Td>
                      <Table.Td>
                        <Group gap={3}>{u.roles.length ? u.roles.map((r) => <Badge key={r} variant="light" color="indigo">{t(`roles.${r}`)}</Badge>) : <Text span size="xs" c="dimmed">—</Text>}</Group>
                      </Table.Td>
                      <Table.Td>{u.mfaEnrolled ? <Badge color="green" variant="light">{t('users.mfaOn')}</Badge> : <Badge color="gray" variant="light">{t('users.mfaOff')}</Badge>}</Table.Td>
                      <Table.Td><UserStatusBadge value={u.status} /></Table.Td>
                      <Table.Td className="nowrap">{formatDate(u.createdAt, lang)}</Table.Td>
                      {manage && (
                        <Table.Td className="nowrap">
                          <Group gap={4} wrap="nowrap">
                            {u.status !== 'retired' && (
                              <Button size="compact-xs" variant="subtle" onClick={() => setEditing(u.id)} aria-label={t('users.action.editUser', { user: u.login })}>{t('users.action.edit')}</Button>
                            )}
                            {!self && u.status !== 'retired' && (
                              <>
                                {u.status === 'active' ? (
                                  <Button size="compact-xs" variant="subtle" color="yellow.9" onClick={() => setChanging({ user: u, to: 'suspended' })} aria-label={t('users.action.suspendUser', { user: u.login })}>{t('users.action.suspend')}</Button>
                                ) : (
                                  <Button size="compact-xs" variant="subtle" onClick={() => setChanging({ user: u, to: 'active' })} aria-label={t('users.action.reactivateUser', { user: u.login })}>{t('users.action.reactivate')}</Button>
                                )}
                                <Button size="compact-xs" variant="light" color="red" onClick={() => setChanging({ user: u, to: 'retired' })} aria-label={t('users.action.retireUser', { user: u.login })}>{t('users.action.retire')}</Button>
                              </>
                            )}
                          </Group>
                        </Table.Td>
                      )}
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Paper>
      {creating && <CreateUserModal users={list} departments={departments.data ?? []} onClose={() => setCreating(false)} />}
      {editing && <EditUserModal userId={editing} users={list} departments={departments.data ?? []} groups={groups.data ?? []} onClose={() => setEditing(null)} />}
      {changing && <StatusDialog user={changing.user} to={changing.to} onClose={() => setChanging(null)} />}
    </Stack>
  );
}
