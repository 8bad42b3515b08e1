/**
 * Retire, suspend or reactivate a user, after a confirmation that says exactly what happens:
 * retirement revokes every session and API token at once (the person is signed out everywhere on
 * their next click) and revokes their grants; it cannot be undone from here.
 */
import { useState } from 'react';
import { Alert, Button, Group, List, Modal, Stack, Text, Textarea } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import type { UserStatus } from '@mamori/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import type { UserView } from '../../lib/types.ts';
import { setUserStatus } from './api.ts';

export function StatusDialog({ user, to, onClose }: { user: UserView; to: UserStatus; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const change = useMutation({
    mutationFn: () => setUserStatus(user.id, to, reason.trim()),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
  });
  const danger = to !== 'active';
  return (
    <Modal opened onClose={onClose} title={<Text fw={700}>{t(`users.status.${to}.title`, { user: userLabel(user) })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }} size="lg">
      <form onSubmit={(e) => { e.preventDefault(); change.mutate(); }}>
        <Stack gap="sm">
          <Alert color={danger ? 'red' : 'blue'} variant="light" icon={danger ? <IconAlertTriangle size={18} /> : undefined} title={t(`users.status.${to}.what`)}>
            <List size="sm" spacing={2}>
              {(t(`users.status.${to}.effects`, { returnObjects: true }) as string[]).map((line) => <List.Item key={line}>{line}</List.Item>)}
            </List>
          </Alert>
          <Textarea size="xs" label={t('users.status.reason')} description={t('users.status.reasonHint')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required maxLength={500} autosize minRows={2} data-autofocus />
          <ErrorAlert error={change.error} compact />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" color={danger ? 'red' : 'indigo'} loading={change.isPending} disabled={reason.trim() === ''}>{t(`users.status.${to}.confirm`)}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
