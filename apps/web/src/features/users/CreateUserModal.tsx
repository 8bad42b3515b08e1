/** Create a user; the one-time password is shown here once and never again. */
import { useState } from 'react';
import { Alert, Button, Code, CopyButton, Group, Modal, MultiSelect, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle, IconCopy } from '@tabler/icons-react';
import { EMPLOYMENT_TYPES, ROLES, type EmploymentType, type Role } from '@mamori/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import type { Department, UserView } from '../../lib/types.ts';
import { createUser } from './api.ts';

const LOGIN = /^[A-Za-z0-9._@-]+$/;

export function CreateUserModal({ users, departments, onClose }: { users: UserView[]; departments: Department[]; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [login, setLogin] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [employmentType, setEmploymentType] = useState<EmploymentType>('employee');
  const [departmentId, setDepartmentId] = useState<string | null>(null);
  const [supervisorId, setSupervisorId] = useState<string | null>(null);
  const [roles, setRoles] = useState<Role[]>([]);
  const create = useMutation({
    mutationFn: () =>
      createUser({ login: login.trim(), displayName: displayName.trim(), email: email.trim() || null, employmentType, departmentId, supervisorId, roles }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['users'] }),
  });
  const loginInvalid = login !== '' && !LOGIN.test(login.trim());
  const created = create.data;

  return (
    <Modal opened onClose={onClose} size="lg" title={<Text fw={700}>{t('users.create.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }} closeOnClickOutside={!created}>
      {created ? (
        <Stack gap="sm" data-testid="one-time-password">
          <Text size="sm">{t('users.create.done', { user: userLabel(created.user) })}</Text>
          <Alert color="yellow" icon={<IconAlertTriangle size={18} />} title={t('users.create.otpTitle')}>
            <Stack gap={6}>
              <Group gap="xs">
                <Code fz="md" data-testid="otp-value">{created.oneTimePassword}</Code>
                <CopyButton value={created.oneTimePassword}>
                  {({ copied, copy }) => (
                    <Button variant="light" leftSection={<IconCopy size={14} />} onClick={copy}>{copied ? t('common.copied') : t('common.copy')}</Button>
                  )}
                </CopyButton>
              </Group>
              <Text size="xs">{t('users.create.otpNote')}</Text>
            </Stack>
          </Alert>
          <Group justify="flex-end"><Button onClick={onClose}>{t('users.create.otpClose')}</Button></Group>
        </Stack>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
          <Stack gap="sm">
            <SimpleGrid cols={2} spacing="sm">
              <TextInput label={t('users.field.login')} description={t('users.field.loginHint')} value={login} onChange={(e) => setLogin(e.currentTarget.value)} required error={loginInvalid ? t('users.field.loginInvalid') : null} maxLength={100} data-autofocus />
              <TextInput label={t('users.field.displayName')} value={displayName} onChange={(e) => setDisplayName(e.currentTarget.value)} required maxLength={200} />
              <TextInput label={t('users.field.email')} type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} maxLength={254} />
              <Select
                label={t('users.field.employmentType')}
                value={employmentType}
                onChange={(v) => v && setEmploymentType(v as EmploymentType)}
                data={EMPLOYMENT_TYPES.map((e) => ({ value: e, label: t(`employment.${e}`) }))}
                required
              />
              <Select label={t('users.field.department')} clearable allowDeselect value={departmentId} onChange={setDepartmentId} data={departments.map((d) => ({ value: d.id, label: d.name }))} placeholder={t('common.none')} />
              <Select
                label={t('users.field.supervisor')}
                searchable
                clearable
                allowDeselect
                value={supervisorId}
                onChange={setSupervisorId}
                data={users.filter((u) => u.status === 'active' && u.kind === 'person').map((u) => ({ value: u.id, label: userLabel(u) }))}
                placeholder={t('common.none')}
                nothingFoundMessage={t('common.nothingFound')}
              />
            </SimpleGrid>
            <MultiSelect size="xs" label={t('users.field.roles')} value={roles} onChange={(v) => setRoles(v as Role[])} data={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} placeholder={t('users.field.rolesNone')} clearable />
            {employmentType === 'dispatch' && <Alert color="orange" variant="light" p="xs"><Text size="xs">{t('users.create.dispatchNote')}</Text></Alert>}
            <ErrorAlert error={create.error} compact />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
              <Button type="submit" loading={create.isPending} disabled={!login.trim() || !displayName.trim() || loginInvalid}>{t('users.create.submit')}</Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
