/** Create a dataset: names, owner, purposes of use, and each field's classification, kind and search mode. */
import { useState } from 'react';
import { ActionIcon, Button, Group, Modal, Select, SimpleGrid, Stack, TagsInput, Table, Text, TextInput } from '@mantine/core';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { CLASSIFICATIONS, FIELD_KINDS, SEARCH_MODES, isPersonalLevel, type Classification, type FieldKind, type SearchMode } from '@mamori/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { userLabel } from '../../components/labels.ts';
import type { UserView } from '../../lib/types.ts';
import { createDataset, type NewField } from './api.ts';

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const FIELD_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const blank = (): NewField => ({ name: '', labelJa: '', labelEn: '', classification: 'public', kind: 'text', search: 'none' });

export function CreateDatasetModal({ users, onClose, onCreated }: { users: UserView[]; onClose: () => void; onCreated: (name: string) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [labelJa, setLabelJa] = useState('');
  const [labelEn, setLabelEn] = useState('');
  const [ownerUserId, setOwner] = useState<string | null>(null);
  const [purposes, setPurposes] = useState<string[]>([]);
  const [fields, setFields] = useState<NewField[]>([blank()]);
  const create = useMutation({
    mutationFn: () => createDataset({ name, labelJa: labelJa.trim(), labelEn: labelEn.trim(), ownerUserId: ownerUserId!, purposes, fields }),
    onSuccess: async (r) => {
      await qc.invalidateQueries({ queryKey: ['datasets'] });
      onCreated(r.dataset.name);
    },
  });
  const update = (i: number, patch: Partial<NewField>) =>
    setFields((fs) => fs.map((f, j) => {
      if (j !== i) return f;
      const next = { ...f, ...patch };
      // Personal-level fields are encrypted: exact search only (blind index), never prefix.
      if (isPersonalLevel(next.classification) && next.search === 'prefix') next.search = 'exact';
      return next;
    }));
  const names = fields.map((f) => f.name);
  const fieldsValid = fields.length > 0 && fields.every((f, i) => FIELD_NAME.test(f.name) && f.labelJa.trim() && f.labelEn.trim() && names.indexOf(f.name) === i);
  const valid = NAME.test(name) && labelJa.trim() && labelEn.trim() && ownerUserId && purposes.length > 0 && fieldsValid;

  return (
    <Modal opened onClose={onClose} size={1000} title={<Text fw={700}>{t('datasets.create.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); if (valid) create.mutate(); }}>
        <Stack gap="sm">
          <SimpleGrid cols={3} spacing="sm">
            <TextInput label={t('datasets.create.name')} description={t('datasets.create.nameHint')} value={name} onChange={(e) => setName(e.currentTarget.value)} error={name && !NAME.test(name) ? t('datasets.create.nameInvalid') : null} required data-autofocus />
            <TextInput label={t('datasets.field.labelJa')} value={labelJa} onChange={(e) => setLabelJa(e.currentTarget.value)} required />
            <TextInput label={t('datasets.field.labelEn')} value={labelEn} onChange={(e) => setLabelEn(e.currentTarget.value)} required />
            <Select label={t('datasets.owner')} searchable value={ownerUserId} onChange={setOwner} data={users.filter((u) => u.status === 'active').map((u) => ({ value: u.id, label: userLabel(u) }))} required nothingFoundMessage={t('common.nothingFound')} />
            <TagsInput size="xs" label={t('datasets.purposes')} description={t('datasets.create.purposesHint')} value={purposes} onChange={setPurposes} required style={{ gridColumn: 'span 2' }} />
          </SimpleGrid>
          <Table striped={false} aria-label={t('datasets.fieldsLabel')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('datasets.field.name')}</Table.Th>
                <Table.Th>{t('datasets.field.labelJa')}</Table.Th>
                <Table.Th>{t('datasets.field.labelEn')}</Table.Th>
                <Table.Th>{t('datasets.field.classification')}</Table.Th>
                <Table.Th>{t('datasets.field.kind')}</Table.Th>
                <Table.Th>{t('datasets.field.search')}</Table.Th>
                <Table.Th w={40}><Text span size="xs">{t('common.remove')}</Text></Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {fields.map((f, i) => (
                <Table.Tr key={i}>
                  <Table.Td><TextInput aria-label={`${t('datasets.field.name')} ${i + 1}`} value={f.name} onChange={(e) => update(i, { name: e.currentTarget.value })} error={f.name && (!FIELD_NAME.test(f.name) || names.indexOf(f.name) !== i)} ff="monospace" /></Table.Td>
                  <Table.Td><TextInput aria-label={`${t('datasets.field.labelJa')} ${i + 1}`} value={f.labelJa} onChange={(e) => update(i, { labelJa: e.currentTarget.value })} /></Table.Td>
                  <Table.Td><TextInput aria-label={`${t('datasets.field.labelEn')} ${i + 1}`} value={f.labelEn} onChange={(e) => update(i, { labelEn: e.currentTarget.value })} /></Table.Td>
                  <Table.Td><Select aria-label={`${t('datasets.field.classification')} ${i + 1}`} w={170} value={f.classification} onChange={(v) => v && update(i, { classification: v as Classification })} data={CLASSIFICATIONS.map((c) => ({ value: c, label: t(`classification.${c}`) }))} /></Table.Td>
                  <Table.Td><Select aria-label={`${t('datasets.field.kind')} ${i + 1}`} w={120} value={f.kind} onChange={(v) => v && update(i, { kind: v as FieldKind })} data={FIELD_KINDS.map((k) => ({ value: k, label: t(`fieldKind.${k}`) }))} /></Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={`${t('datasets.field.search')} ${i + 1}`}
                      w={120}
                      value={f.search}
                      onChange={(v) => v && update(i, { search: v as SearchMode })}
                      data={SEARCH_MODES.map((s) => ({ value: s, label: t(`searchMode.${s}`), disabled: s === 'prefix' && isPersonalLevel(f.classification) }))}
                    />
                  </Table.Td>
                  <Table.Td>
                    <ActionIcon variant="subtle" color="red" aria-label={t('datasets.create.removeField', { n: i + 1 })} disabled={fields.length === 1} onClick={() => setFields((fs) => fs.filter((_, j) => j !== i))}>
                      <IconTrash size={14} />
                    </ActionIcon>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Text size="xs" c="dimmed">{t('datasets.create.prefixNote')}</Text>
          <Group justify="space-between">
            <Button variant="light" leftSection={<IconPlus size={14} />} onClick={() => setFields((fs) => [...fs, blank()])} disabled={fields.length >= 200}>{t('datasets.create.addField')}</Button>
            <Group gap="xs">
              <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
              <Button type="submit" loading={create.isPending} disabled={!valid}>{t('datasets.create.submit')}</Button>
            </Group>
          </Group>
          <ErrorAlert error={create.error} compact />
        </Stack>
      </form>
    </Modal>
  );
}
