/**
 * One record, masked by default. Unmasking one field is its own audited request with a purpose the
 * person's grant allows; the clear value is shown for UNMASK_SECONDS and then hidden again. It lives
 * in this component's state only (not in the query cache, not anywhere else).
 */
import { lazy, Suspense, useEffect, useState } from 'react';
import { Alert, Badge, Button, Code, Drawer, Group, Progress, Select, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconEye, IconEyeOff, IconHistory, IconInfoCircle } from '@tabler/icons-react';
import { isPersonalLevel } from '@mamori/contracts';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ClassificationBadge, MaskedValue } from '../../components/badges.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, fieldLabel } from '../../components/labels.ts';
import { Loading } from '../../components/states.tsx';
import { canReadAudit } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import type { DatasetView } from '../../lib/types.ts';
import { readRecord, unmaskField } from './api.ts';
import type { Access } from './grants.ts';

const RecordAccessModal = lazy(() => import('../audit/RecordAccessModal.tsx'));
export const UNMASK_SECONDS = 30;

type Revealed = Record<string, { value: string; until: number }>;

/** From now until when an unmasked value stays visible. */
function revealWindow(): { start: number; until: number } {
  const start = Date.now();
  return { start, until: start + UNMASK_SECONDS * 1000 };
}

export default function RecordDrawer({ dataset, recordId, purposes, initialPurpose, access, onClose }: {
  dataset: DatasetView;
  recordId: string;
  purposes: string[];
  initialPurpose: string;
  access: Access;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const [purpose, setPurpose] = useState(initialPurpose);
  const [revealed, setRevealed] = useState<Revealed>({});
  const [now, setNow] = useState(() => Date.now());
  const [unmaskError, setUnmaskError] = useState<unknown>(null);
  const [pending, setPending] = useState<string | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);

  const record = useQuery({
    queryKey: ['record', dataset.name, recordId, purpose],
    queryFn: ({ signal }) => readRecord(dataset.name, recordId, purpose, signal),
    staleTime: Infinity,
    gcTime: 0,
  });

  // Count down every revealed value and hide it when its time is up.
  useEffect(() => {
    if (Object.keys(revealed).length === 0) return;
    const id = window.setInterval(() => {
      const tick = Date.now();
      setNow(tick);
      setRevealed((r) => {
        const live = Object.entries(r).filter(([, v]) => v.until > tick);
        return live.length === Object.keys(r).length ? r : Object.fromEntries(live);
      });
    }, 250);
    return () => window.clearInterval(id);
  }, [revealed]);

  const unmaskable = access.unmaskable(purpose);
  const unmask = async (field: string) => {
    setPending(field);
    setUnmaskError(null);
    try {
      const r = await unmaskField(dataset.name, recordId, field, purpose);
      const { start, until } = revealWindow();
      setNow(start);
      setRevealed((s) => ({ ...s, [r.field]: { value: r.value, until } }));
    } catch (err) {
      setUnmaskError(err);
    } finally {
      setPending(null);
    }
  };
  const hide = (field: string) => setRevealed(({ [field]: _gone, ...rest }) => rest);

  const rec = record.data;
  const shown = rec ? dataset.fields.filter((f) => rec.values[f.name] !== undefined).sort((a, b) => a.position - b.position) : [];
  const absent = rec ? dataset.fields.length - shown.length : 0;

  return (
    <Drawer opened onClose={onClose} position="right" size={680} title={<Text fw={700}>{t('records.drawer.title', { dataset: datasetLabel(dataset, lang) })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <Stack gap="xs">
        <Group gap="sm" align="flex-end">
          <Select
            label={t('records.purpose')}
            w={200}
            value={purpose}
            data={purposes}
            onChange={(v) => {
              if (!v) return;
              setPurpose(v);
              setRevealed({});
              setUnmaskError(null);
            }}
          />
          {canReadAudit(me.user) && (
            <Button variant="light" leftSection={<IconHistory size={14} />} onClick={() => setHistoryOpen(true)}>{t('records.drawer.accessHistory')}</Button>
          )}
        </Group>
        <Alert color="gray" variant="light" p="xs" icon={<IconInfoCircle size={16} />}>
          <Text size="xs">{t('records.drawer.auditNote', { seconds: UNMASK_SECONDS })}</Text>
        </Alert>
        {record.isPending ? (
          <Loading />
        ) : record.isError ? (
          <ErrorAlert error={record.error} />
        ) : (
          rec && (
            <>
              <Group gap="md">
                <Text size="xs" c="dimmed">{t('records.drawer.id')} <Code>{rec.id}</Code></Text>
                <Text size="xs" c="dimmed">{t('records.drawer.updatedAt')} {formatDateTime(rec.updatedAt, lang)}</Text>
                <Text size="xs" c="dimmed">{t('records.drawer.version')} {rec.version}</Text>
              </Group>
              <ErrorAlert error={unmaskError} compact />
              <Table aria-label={t('records.drawer.fieldsLabel')} striped={false} data-testid="record-fields">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('records.drawer.field')}</Table.Th>
                    <Table.Th>{t('records.drawer.classification')}</Table.Th>
                    <Table.Th>{t('records.drawer.value')}</Table.Th>
                    <Table.Th>{t('records.drawer.action')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {shown.map((f) => {
                    const v = rec.values[f.name] ?? '';
                    const masked = rec.masked.includes(f.name);
                    const open = revealed[f.name];
                    const left = open ? Math.max(0, Math.ceil((open.until - now) / 1000)) : 0;
                    return (
                      <Table.Tr key={f.name} data-field={f.name}>
                        <Table.Td className="nowrap" fw={600}>{fieldLabel(f, lang)}</Table.Td>
                        <Table.Td><ClassificationBadge value={f.classification} /></Table.Td>
                        <Table.Td style={{ wordBreak: 'break-all' }}>
                          {open ? (
                            <Stack gap={2}>
                              <Group gap={6}>
                                <IconEye size={14} color="var(--mantine-color-green-8)" aria-hidden />
                                <Text span size="sm" fw={700} c="green.9" data-testid={`unmasked-${f.name}`}>{open.value}</Text>
                                <Badge color="green" variant="light" aria-live="polite">{t('records.drawer.secondsLeft', { n: left })}</Badge>
                              </Group>
                              <Progress value={(left / UNMASK_SECONDS) * 100} size={3} color="green" aria-label={t('records.drawer.secondsLeft', { n: left })} />
                            </Stack>
                          ) : masked ? (
                            <MaskedValue value={v} />
                          ) : (
                            v || <Text span c="dimmed" size="xs">—</Text>
                          )}
                        </Table.Td>
                        <Table.Td className="nowrap">
                          {open ? (
                            <Button variant="subtle" color="gray" leftSection={<IconEyeOff size={14} />} onClick={() => hide(f.name)}>{t('records.drawer.hide')}</Button>
                          ) : masked && unmaskable.has(f.name) ? (
                            <Button
                              variant="light"
                              leftSection={<IconEye size={14} />}
                              loading={pending === f.name}
                              onClick={() => void unmask(f.name)}
                              aria-label={t('records.drawer.unmaskField', { field: fieldLabel(f, lang) })}
                            >
                              {t('records.drawer.unmask')}
                            </Button>
                          ) : masked || isPersonalLevel(f.classification) ? (
                            <Tooltip label={t('records.drawer.noUnmaskWhy')} multiline w={260}>
                              <Text size="xs" c="dimmed" tabIndex={0}>{t('records.drawer.noUnmask')}</Text>
                            </Tooltip>
                          ) : null}
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
              {absent > 0 && <Text size="xs" c="dimmed">{t('records.drawer.absent', { n: absent })}</Text>}
            </>
          )
        )}
      </Stack>
      {historyOpen && (
        <Suspense fallback={null}>
          <RecordAccessModal recordId={recordId} onClose={() => setHistoryOpen(false)} />
        </Suspense>
      )}
    </Drawer>
  );
}
