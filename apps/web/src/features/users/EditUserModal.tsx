/**
 * Edit a user: name, e-mail, employment type, department, supervisor, roles, groups. Sends only what
 * changed, with the version the form was loaded from; a 409 `conflict` (someone changed the user
 * meanwhile) reloads the form with the current values and says so. Becoming a dispatch worker
 * (派遣社員) suspends the person's own grants at once: the form says so and asks for confirmation.
 */
import { useState } from 'react';
import { Alert, Button, Checkbox, Group, Modal, MultiSelect, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle, IconRefresh } from '@tabler/icons-react';
import { EMPLOYMENT_TYPES, ROLES, type EmploymentType, type Role } from '@mamori/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import { ApiError } from '../../lib/errors.ts';
import type { Department, Group as GroupT, UserView } from '../../lib/types.ts';
import { updateUser, type UpdateUserInput } from './api.ts';

type Props = { userId: string; users: UserView[]; departments: Department[]; groups: GroupT[]; onClose: () => void };

export function EditUserModal({ userId, users, departments, groups, onClose }: Props) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [conflict, setConflict] = useState(false);
  const user = users.find((u) => u.id === userId);
  const reload = async () => {
    setConflict(true);
    await qc.invalidateQueries({ queryKey: ['users'] });
  };
  return (
    <Modal opened onClose={onClose} size="lg" title={<Text fw={700}>{t('users.edit.title', { user: user ? userLabel(user) : '' })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      {conflict && (
        <Alert color="yellow" icon={<IconRefresh size={18} />} title={t('users.edit.conflictTitle')} mb="sm" data-testid="edit-conflict">
          <Text size="sm">{t('users.edit.conflictBody')}</Text>
        </Alert>
      )}
      {user ? (
        // Keyed by version: a reload after a conflict starts the form again from the current values.
        <EditForm key={user.version} user={user} users={users} departments={departments} groups={groups} onClose={onClose} onConflict={reload} />
      ) : (
        <Text size="sm">{t('users.edit.gone')}</Text>
      )}
    </Modal>
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function EditForm({ user, users, departments, groups, onClose, onConflict }: Omit<Props, 'userId'> & { user: UserView; onConflict: () => Promise<void> }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [displayName, setDisplayName] = useState(user.displayName);
  const [email, setEmail] = useState(user.email ?? '');
  const [employmentType, setEmploymentType] = useState<EmploymentType>(user.employmentType);
  const [departmentId, setDepartmentId] = useState<string | null>(user.departmentId);
  const [supervisorId, setSupervisorId] = useState<string | null>(user.supervisorId);
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [groupIds, setGroupIds] = useState<string[]>(user.groupIds);
  const [dispatchConfirmed, setDispatchConfirmed] = useState(false);

  const patch: UpdateUserInput = { version: user.version };
  if (displayName.trim() !== user.displayName) patch.displayName = displayName.trim();
  if ((email.trim() || null) !== user.email) patch.email = email.trim() || null;
  if (employmentType !== user.employmentType) patch.employmentType = employmentType;
  if (departmentId !== user.departmentId) patch.departmentId = departmentId;
  if (supervisorId !== user.supervisorId) patch.supervisorId = supervisorId;
  if (!sameSet(roles, user.roles)) patch.roles = roles;
  if (!sameSet(groupIds, user.groupIds)) patch.groupIds = groupIds;
  const changed = Object.keys(patch).length > 1;
  const becomesDispatch = employmentType === 'dispatch' && user.employmentType !== 'dispatch';

  const save = useMutation({
    mutationFn: () => updateUser(user.id, patch),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['users'] });
      if (becomesDispatch) await qc.invalidateQueries({ queryKey: ['grants'] });
      onClose();
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === 'conflict') void onConflict();
    },
  });
  const conflicted = save.error instanceof ApiError && save.error.code === 'conflict';
  const valid = displayName.trim() !== '' && changed && (!becomesDispatch || dispatchConfirmed);
  const supervisors = users.filter((u) => u.id !== user.id && u.status === 'active' && u.kind === 'person').map((u) => ({ value: u.id, label: userLabel(u) }));

  return (
    <form onSubmit={(e) => { e.preventDefault(); if (valid) save.mutate(); }}>
      <Stack gap="sm">
        <SimpleGrid cols={2} spacing="sm">
          <TextInput label={t('users.field.login')} value={user.login} readOnly disabled />
          <TextInput label={t('users.field.displayName')} value={displayName} onChange={(e) => setDisplayName(e.currentTarget.value)} required maxLength={200} data-autofocus />
          <TextInput label={t('users.field.email')} type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} maxLength={254} />
          <Select
            label={t('users.field.employmentType')}
            value={employmentType}
            onChange={(v) => { if (v) { setEmploymentType(v as EmploymentType); setDispatchConfirmed(false); } }}
            data={EMPLOYMENT_TYPES.map((e) => ({ value: e, label: t(`employment.${e}`) }))}
            required
          />
          <Select label={t('users.field.department')} clearable allowDeselect value={departmentId} onChange={setDepartmentId} data={departments.map((d) => ({ value: d.id, label: d.name }))} placeholder={t('common.none')} />
          <Select label={t('users.field.supervisor')} searchable clearable allowDeselect value={supervisorId} onChange={setSupervisorId} data={supervisors} placeholder={t('common.none')} nothingFoundMessage={t('common.nothingFound')} />
        </SimpleGrid>
        <MultiSelect size="xs" label={t('users.field.roles')} value={roles} onChange={(v) => setRoles(v as Role[])} data={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} placeholder={t('users.field.rolesNone')} clearable />
        <MultiSelect size="xs" label={t('users.field.groups')} value={groupIds} onChange={setGroupIds} data={groups.map((g) => ({ value: g.id, label: g.name }))} placeholder={t('users.field.groupsNone')} clearable searchable nothingFoundMessage={t('common.nothingFound')} />
        {becomesDispatch && (
          <Alert color="orange" icon={<IconAlertTriangle size={18} />} title={t('users.edit.dispatchTitle')} data-testid="dispatch-change-warning">
            <Stack gap={6}>
              <Text size="sm">{t('users.edit.dispatchBody')}</Text>
              <Checkbox label={t('users.edit.dispatchConfirm')} checked={dispatchConfirmed} onChange={(e) => setDispatchConfirmed(e.currentTarget.checked)} />
            </Stack>
          </Alert>
        )}
        {!conflicted && <ErrorAlert error={save.error} compact showMessage />}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} disabled={!valid}>{t('users.edit.submit')}</Button>
        </Group>
      </Stack>
    </form>
  );
}
