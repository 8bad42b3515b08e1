/**
 * SCIM provisioning (SCIM連携): the IdP / HR clients and their tokens (administrators: a new token is
 * shown once), and the provisioning event log read from the audit log (what each client changed or
 * was refused). The server decides every request (`scim.client.manage`, `scim.log.read`).
 */
import { useMemo, useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconAlertTriangle, IconCopy, IconPlus } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import { QueryTable } from '../../components/QueryTable.tsx';
import { canManageScim, canReadUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { byId, useUsers } from '../../lib/queries.ts';
import { createClientToken, listClients, provisioningLog, revokeToken, type ProvisioningEvent, type ScimClient } from './api.ts';

type ClientRow = { c: ScimClient; tok: ScimClient['tokens'][number] | null };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$/;

export default function ScimPage() {
  const me = useMe();
  return (
    <Stack gap="sm">
      {canManageScim(me.user) && <ClientsPanel />}
      <LogPanel />
    </Stack>
  );
}

function ClientsPanel() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const clients = useQuery({ queryKey: ['scim', 'clients'], queryFn: listClients, staleTime: 0 });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => createClientToken(name.trim()),
    onSuccess: async () => {
      setName('');
      await qc.invalidateQueries({ queryKey: ['scim'] });
    },
  });
  const revoke = useMutation({ mutationFn: revokeToken, onSuccess: () => qc.invalidateQueries({ queryKey: ['scim'] }) });
  const invalid = name !== '' && !NAME.test(name.trim());
  const list = clients.data ?? [];
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Title order={2} size="h4">{t('scim.clients.title')}</Title>
        <Text size="xs" c="dimmed">{t('scim.clients.hint')}</Text>
        <form onSubmit={(e) => { e.preventDefault(); if (name.trim() && !invalid) create.mutate(); }}>
          <Group align="flex-end" gap="xs">
            <TextInput label={t('scim.clients.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={60} required w={260} error={invalid ? t('scim.clients.nameInvalid') : null} />
            <Button type="submit" leftSection={<IconPlus size={14} />} loading={create.isPending} disabled={!name.trim() || invalid}>{t('scim.clients.issue')}</Button>
          </Group>
        </form>
        <ErrorAlert error={create.error} compact showMessage />
        {create.data && (
          <Alert color="yellow" icon={<IconAlertTriangle size={18} />} title={t('scim.clients.tokenTitle')} data-testid="scim-token">
            <Stack gap={6}>
              <Group gap="xs">
                <Code fz="sm">{create.data.token}</Code>
                <CopyButton value={create.data.token}>
                  {({ copied, copy }) => <Button variant="light" leftSection={<IconCopy size={14} />} onClick={copy}>{copied ? t('common.copied') : t('common.copy')}</Button>}
                </CopyButton>
              </Group>
              <Text size="xs">{t('scim.clients.tokenNote', { url: `${window.location.origin}/scim/v2` })}</Text>
              <Group justify="flex-end"><Button size="xs" variant="default" onClick={() => create.reset()}>{t('common.close')}</Button></Group>
            </Stack>
          </Alert>
        )}
        <ErrorAlert error={revoke.error} compact showMessage />
        <QueryTable<ClientRow>
          query={clients}
          rows={list.flatMap((c): ClientRow[] => (c.tokens.length === 0 ? [{ c, tok: null }] : c.tokens.map((tok) => ({ c, tok }))))}
          rowKey={({ c, tok }) => tok?.id ?? c.id}
          label={t('scim.clients.title')}
          testId="scim-clients"
          emptyTitle={t('scim.clients.empty')}
          columns={[
            { key: 'name', header: t('scim.clients.name'), cell: ({ c }) => c.name, cellProps: () => ({ fw: 600 }) },
            {
              key: 'token', header: t('scim.clients.token'), cell: ({ tok }) => (
                <>
                  {tok ? <Code>{tok.id.slice(0, 8)}</Code> : '—'}{' '}
                  {tok?.revokedAt ? <Badge size="xs" color="gray">{t('scim.clients.revoked')}</Badge> : tok ? <Badge size="xs" color="teal">{t('scim.clients.live')}</Badge> : null}
                </>
              ),
            },
            { key: 'created', header: t('scim.clients.created'), cell: ({ c, tok }) => formatDateTime(tok?.createdAt ?? c.createdAt, lang) },
            { key: 'lastUsed', header: t('scim.clients.lastUsed'), cell: ({ tok }) => (tok?.lastUsedAt ? formatDateTime(tok.lastUsedAt, lang) : t('scim.clients.never')) },
            {
              key: 'actions', header: null, cell: ({ tok }) => tok && !tok.revokedAt && (
                <Button size="compact-xs" color="red" variant="light" loading={revoke.isPending && revoke.variables === tok.id} onClick={() => revoke.mutate(tok.id)}>
                  {t('scim.clients.revoke')}
                </Button>
              ),
            },
          ]}
        />
      </Stack>
    </Paper>
  );
}

function LogPanel() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const users = useUsers(canReadUsers(me.user));
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const log = useQuery({ queryKey: ['scim', 'log'], queryFn: () => provisioningLog(200), staleTime: 0 });
  const who = (id: string | null) => {
    if (!id) return '—';
    const u = userMap.get(id);
    return u ? userLabel(u) : id.slice(0, 8);
  };
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={2} size="h4">{t('scim.log.title')}</Title>
          <Button size="compact-xs" variant="default" onClick={() => void log.refetch()} loading={log.isFetching}>{t('scim.log.refresh')}</Button>
        </Group>
        <QueryTable<ProvisioningEvent>
          query={log}
          rowKey={(e) => String(e.id)}
          label={t('scim.log.title')}
          testId="scim-log"
          emptyTitle={t('scim.log.empty')}
          columns={[
            { key: 'at', header: t('scim.log.at'), cell: (e) => formatDateTime(e.at, lang, { seconds: true }) },
            { key: 'client', header: t('scim.log.client'), cell: (e) => who(e.payload.actor.user) },
            {
              key: 'op', header: t('scim.log.operation'), cell: (e) => {
                const d = e.payload.details;
                const op = [d.resource, d.op ?? d.method].filter(Boolean).join(' ');
                return <><Code>{op || e.payload.action}</Code>{d.changed && d.changed.length > 0 ? <Text span size="xs" c="dimmed"> {d.changed.join(', ')}</Text> : null}</>;
              },
            },
            { key: 'subject', header: t('scim.log.subject'), cell: (e) => who(e.payload.subject) },
            {
              key: 'result', header: t('scim.log.result'), cell: (e) => {
                const failed = e.payload.decision === 'deny' || e.payload.result !== 'ok';
                return (
                  <>
                    <Badge size="xs" color={failed ? 'red' : 'teal'}>{failed ? t('scim.log.refused') : t('scim.log.ok')}</Badge>
                    {e.payload.details.error ? <Text span size="xs" c="dimmed"> {e.payload.details.error}</Text> : null}
                  </>
                );
              },
            },
          ]}
        />
      </Stack>
    </Paper>
  );
}
