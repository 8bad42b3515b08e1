/**
 * Bring an active grant's end forward ("expire on…"): a date and time in Japan (JST, whatever the
 * browser's zone) and a reason for the audit log. The server only shortens, never to the past; its
 * refusal (`grant.invalid`) is shown with its own words.
 */
import { useState } from 'react';
import { Button, Group, Modal, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime, jstDateTimeInput, jstDateTimeToIso } from '../../lib/format.ts';
import type { GrantRecord } from '../../lib/types.ts';
import { expireGrant } from './api.ts';

export function ExpireGrantModal({ grant, subject, onClose }: { grant: GrantRecord; subject: string; onClose: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const [until, setUntil] = useState(() => jstDateTimeInput(grant.validUntil));
  const [reason, setReason] = useState('');
  const iso = jstDateTimeToIso(until);
  const expire = useMutation({
    mutationFn: () => expireGrant(grant.id, iso!, reason.trim()),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['grants'] });
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={<Text fw={700}>{t('grants.expire.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); if (iso && reason.trim()) expire.mutate(); }}>
        <Stack gap="sm">
          <Text size="sm">{t('grants.expire.body', { subject })}</Text>
          <Text size="sm">{t('grants.expire.current')} <Text span fw={700}>{formatDateTime(grant.validUntil, lang, { seconds: false })}</Text></Text>
          <TextInput
            type="datetime-local"
            label={t('grants.expire.newUntil')}
            description={t('grants.expire.newUntilHint')}
            value={until}
            onChange={(e) => setUntil(e.currentTarget.value)}
            error={until && !iso ? t('grants.expire.invalid') : null}
            required
            w={260}
            data-autofocus
          />
          {iso && <Text size="xs" data-testid="expire-preview">{t('grants.expire.preview', { when: formatDateTime(iso, lang, { seconds: false }) })}</Text>}
          <Textarea size="xs" label={t('users.status.reason')} description={t('users.status.reasonHint')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required maxLength={500} autosize minRows={2} />
          <ErrorAlert error={expire.error} compact showMessage />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" color="orange" loading={expire.isPending} disabled={!iso || !reason.trim()}>{t('grants.expire.submit')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
