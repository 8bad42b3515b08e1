/** Datasets and the classification of every field (colour by sensitivity), and creating a dataset. */
import { useMemo, useState, type ReactNode } from 'react';
import { Badge, Button, Code, Group, Paper, Select, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { IconDatabasePlus, IconLock } from '@tabler/icons-react';
import { CLASSIFICATIONS, isPersonalLevel } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';
import { ClassificationBadge } from '../../components/badges.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, userLabel } from '../../components/labels.ts';
import { Empty, Loading } from '../../components/states.tsx';
import { canCreateDataset, canReadUsers } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate } from '../../lib/format.ts';
import { byId, useDatasets, useUsers } from '../../lib/queries.ts';
import { CreateDatasetModal } from './CreateDatasetModal.tsx';

export default function DatasetsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const datasets = useDatasets();
  const users = useUsers(canReadUsers(me.user));
  const [chosen, setChosen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const list = useMemo(() => datasets.data ?? [], [datasets.data]);
  const userMap = useMemo(() => byId(users.data), [users.data]);
  const ds = list.find((d) => d.name === chosen) ?? list[0];

  if (datasets.isPending) return <Loading />;
  if (datasets.isError) return <ErrorAlert error={datasets.error} onRetry={() => void datasets.refetch()} />;
  const owner = ds ? userMap.get(ds.ownerUserId) : undefined;
  const fact = (label: string, value: ReactNode) => (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text size="sm" component="div">{value}</Text>
    </Stack>
  );

  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <Group justify="space-between" align="flex-end">
          <Select label={t('datasets.choose')} w={320} value={ds?.name ?? null} data={list.map((d) => ({ value: d.name, label: `${datasetLabel(d, lang)} (${d.name})` }))} onChange={setChosen} disabled={list.length === 0} />
          {canCreateDataset(me.user) && <Button leftSection={<IconDatabasePlus size={14} />} onClick={() => setCreating(true)}>{t('datasets.create.open')}</Button>}
        </Group>
      </Paper>
      {!ds ? (
        <Empty title={t('datasets.empty')} />
      ) : (
        <>
          <Paper withBorder p="xs">
            <SimpleGrid cols={{ base: 2, md: 4 }} spacing="xs" verticalSpacing="xs">
              {fact(t('datasets.label'), `${ds.labelJa} / ${ds.labelEn}`)}
              {fact(t('datasets.owner'), owner ? userLabel(owner) : <Code fz="xs">{ds.ownerUserId}</Code>)}
              {fact(t('datasets.purposes'), <Group gap={4}>{ds.purposes.map((p) => <Badge key={p} variant="outline">{p}</Badge>)}</Group>)}
              {fact(t('datasets.storage'), `${ds.storageLocation || '—'}${ds.vdiOnly ? ` · ${t('datasets.vdiOnly')}` : ''}`)}
              {fact(t('datasets.source'), ds.source || '—')}
              {fact(t('datasets.createdAt'), formatDate(ds.createdAt, lang))}
              {fact(t('datasets.fieldCount'), t('datasets.fieldCountValue', { n: ds.fields.length, personal: ds.fields.filter((f) => isPersonalLevel(f.classification)).length }))}
              {fact(t('datasets.description'), ds.description || '—')}
            </SimpleGrid>
          </Paper>
          <Paper withBorder p="xs">
            <Group gap={6} mb={6}>
              <Text size="xs" c="dimmed">{t('datasets.legend')}</Text>
              {CLASSIFICATIONS.map((c) => <ClassificationBadge key={c} value={c} />)}
            </Group>
            <Table aria-label={t('datasets.fieldsLabel')} data-testid="dataset-fields">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={40}>#</Table.Th>
                  <Table.Th>{t('datasets.field.name')}</Table.Th>
                  <Table.Th>{t('datasets.field.labelJa')}</Table.Th>
                  <Table.Th>{t('datasets.field.labelEn')}</Table.Th>
                  <Table.Th>{t('datasets.field.classification')}</Table.Th>
                  <Table.Th>{t('datasets.field.kind')}</Table.Th>
                  <Table.Th>{t('datasets.field.search')}</Table.Th>
                  <Table.Th>{t('datasets.field.protection')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {ds.fields.slice().sort((a, b) => a.position - b.position).map((f, i) => (
                  <Table.Tr key={f.name} data-field={f.name}>
                    <Table.Td c="dimmed">{i + 1}</Table.Td>
                    <Table.Td><Code fz="xs">{f.name}</Code></Table.Td>
                    <Table.Td>{f.labelJa}</Table.Td>
                    <Table.Td>{f.labelEn}</Table.Td>
                    <Table.Td><ClassificationBadge value={f.classification} /></Table.Td>
                    <Table.Td>{t(`fieldKind.${f.kind}`)}</Table.Td>
                    <Table.Td>{t(`searchMode.${f.search}`)}</Table.Td>
                    <Table.Td>
                      {isPersonalLevel(f.classification) ? (
                        <Group gap={4} wrap="nowrap"><IconLock size={12} aria-hidden /><Text span size="xs">{t('datasets.protected')}</Text></Group>
                      ) : (
                        <Text span size="xs" c="dimmed">{t('datasets.plain')}</Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Paper>
        </>
      )}
      {creating && <CreateDatasetModal users={users.data ?? []} onClose={() => setCreating(false)} onCreated={(name) => { setChosen(name); setCreating(false); }} />}
    </Stack>
  );
}
