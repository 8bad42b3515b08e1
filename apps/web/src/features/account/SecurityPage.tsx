/**
 * My sign-in security (サインインの安全): the passkeys of this account — add one on this device, remove
 * one (the server asks for a verified session and records both). TOTP stays as it is.
 */
import { useState } from 'react';
import { Alert, Badge, Button, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconFingerprint } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { QueryTable } from '../../components/QueryTable.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { ME_KEY } from '../../app/session.tsx';
import { addPasskey, listPasskeys, removePasskey, type Passkey } from '../auth/api.ts';

export default function SecurityPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ['passkeys'], queryFn: listPasskeys, staleTime: 0 });
  const [name, setName] = useState('');
  const done = () => Promise.all([qc.invalidateQueries({ queryKey: ['passkeys'] }), qc.invalidateQueries({ queryKey: ME_KEY })]);
  const add = useMutation({ mutationFn: () => addPasskey(name.trim() || t('auth.passkey.defaultName')), onSuccess: async () => { setName(''); await done(); } });
  const remove = useMutation({ mutationFn: removePasskey, onSuccess: done });
  const passkeys = { ...list, data: list.data?.passkeys };
  const usable = browserSupportsWebAuthn() && list.data?.available === true;
  return (
    <Paper withBorder p="xs" maw={900}>
      <Stack gap="xs">
        <Title order={2} size="h4">{t('account.passkeys.title')}</Title>
        <Text size="xs" c="dimmed">{t('account.passkeys.hint')}</Text>
        {list.data && !list.data.available && <Alert color="gray">{t('account.passkeys.unavailable')}</Alert>}
        {usable && (
          <form onSubmit={(e) => { e.preventDefault(); add.mutate(); }}>
            <Group align="flex-end" gap="xs">
              <TextInput label={t('account.passkeys.name')} placeholder={t('auth.passkey.defaultName')} value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={60} w={260} />
              <Button type="submit" leftSection={<IconFingerprint size={14} />} loading={add.isPending}>{t('account.passkeys.add')}</Button>
            </Group>
          </form>
        )}
        <ErrorAlert error={add.error ?? remove.error} compact />
        <QueryTable<Passkey>
          query={passkeys}
          rowKey={(p) => p.id}
          label={t('account.passkeys.title')}
          testId="passkeys"
          emptyTitle={t('account.passkeys.empty')}
          columns={[
            { key: 'name', header: t('account.passkeys.name'), cell: (p) => <>{p.name} {p.backedUp && <Badge size="xs" variant="light">{t('account.passkeys.synced')}</Badge>}</>, cellProps: () => ({ fw: 600 }) },
            { key: 'created', header: t('account.passkeys.created'), cell: (p) => formatDateTime(p.createdAt, lang) },
            { key: 'used', header: t('account.passkeys.lastUsed'), cell: (p) => (p.lastUsedAt ? formatDateTime(p.lastUsedAt, lang) : '—') },
            {
              key: 'remove', header: null, cell: (p) => (
                <Button size="compact-xs" color="red" variant="light" loading={remove.isPending && remove.variables === p.id} onClick={() => remove.mutate(p.id)}>{t('account.passkeys.remove')}</Button>
              ),
            },
          ]}
        />
      </Stack>
    </Paper>
  );
}
