/**
 * Compose: recipients, subject, body and attachments. Nothing is sent on submission: the message is
 * held, scanned, and goes out only as the rules say (an approver for attachments and personal data).
 */
import { useState } from 'react';
import { Alert, Button, FileInput, Group, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { navigate } from '../../app/router.ts';
import { compose, fileToAttachment } from './api.ts';

const split = (s: string) => s.split(/[\s,;、]+/).map((x) => x.trim()).filter(Boolean);

export default function ComposePage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [to, setTo] = useState('');
  const [cc, setCc] = useState('');
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const send = useMutation({
    mutationFn: async () => compose({ to: split(to), cc: split(cc), subject: subject.trim(), body, attachments: await Promise.all(files.map(fileToAttachment)) }),
    onSuccess: async (tr) => {
      await qc.invalidateQueries({ queryKey: ['transmissions'] });
      navigate(`/transmissions/mine?transmission=${tr.id}`);
    },
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); send.mutate(); }}>
      <Stack gap="sm" maw={760}>
        <Alert color="indigo" variant="light">{t('transmissions.compose.intro')}</Alert>
        <TextInput label={t('transmissions.field.to')} description={t('transmissions.compose.addressHint')} value={to} onChange={(e) => setTo(e.currentTarget.value)} required autoComplete="off" />
        <TextInput label={t('transmissions.field.cc')} value={cc} onChange={(e) => setCc(e.currentTarget.value)} autoComplete="off" />
        <TextInput label={t('transmissions.field.subject')} value={subject} onChange={(e) => setSubject(e.currentTarget.value)} required maxLength={250} />
        <Textarea label={t('transmissions.field.body')} value={body} onChange={(e) => setBody(e.currentTarget.value)} autosize minRows={8} />
        <FileInput label={t('transmissions.field.attachments')} description={t('transmissions.compose.attachmentHint')} multiple clearable value={files} onChange={setFiles} />
        {files.length > 0 && <Text size="xs" c="dimmed">{files.map((f) => f.name).join(t('common.listSeparator'))}</Text>}
        <ErrorAlert error={send.error} compact showMessage />
        <Group justify="flex-end">
          <Button type="submit" loading={send.isPending} disabled={!to.trim() || !subject.trim()}>{t('transmissions.compose.submit')}</Button>
        </Group>
      </Stack>
    </form>
  );
}
