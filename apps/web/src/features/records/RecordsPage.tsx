/**
 * Records: choose a dataset and a purpose from one's own grants, search (exact on blind-indexed
 * fields, prefix on company names), page through masked results, open one. Search terms stay in
 * this component's memory: never in the URL, the title or browser storage.
 */
import { lazy, Suspense, useMemo, useRef, useState, type FormEvent } from 'react';
import { Alert, Button, Group, Paper, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconSearch, IconX, IconArrowLeft, IconArrowRight } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, fieldLabel } from '../../components/labels.ts';
import { Empty, Loading } from '../../components/states.tsx';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate } from '../../lib/format.ts';
import { useDatasets } from '../../lib/queries.ts';
import { searchRecords, type Criterion } from './api.ts';
import { accessOf, liveGrants } from './grants.ts';
import { ResultsTable } from './ResultsTable.tsx';

const RecordDrawer = lazy(() => import('./RecordDrawer.tsx'));
const PAGE_SIZES = ['25', '50', '100'];

export default function RecordsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const datasets = useDatasets();
  const [chosenDataset, setChosenDataset] = useState<string | null>(null);
  const [chosenPurpose, setChosenPurpose] = useState<string | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [submitted, setSubmitted] = useState<{ n: number; criteria: Criterion[] } | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [pageSize, setPageSize] = useState('50');
  const [openId, setOpenId] = useState<string | null>(null);
  const searchCount = useRef(0);

  const list = useMemo(() => datasets.data ?? [], [datasets.data]);
  const ds = list.find((d) => d.name === chosenDataset) ?? list.find((d) => liveGrants(me.grants, d.id).length > 0) ?? list[0];
  const access = useMemo(() => accessOf(me.user, me.grants, ds), [me, ds]);
  const purpose = chosenPurpose !== null && access.purposes.includes(chosenPurpose) ? chosenPurpose : (access.purposes[0] ?? null);
  const fields = access.fields(purpose);
  const searchable = (ds?.fields ?? []).filter((f) => fields.includes(f.name) && f.search !== 'none');
  const until = ds ? liveGrants(me.grants, ds.id).map((g) => g.validUntil).sort().at(-1) : undefined;

  const after = cursors[cursors.length - 1] ?? null;
  const results = useQuery({
    queryKey: ['records', ds?.name, purpose, submitted?.n, after, pageSize],
    queryFn: ({ signal }) => searchRecords(ds!.name, { purpose: purpose!, criteria: submitted!.criteria, after, limit: Number(pageSize) }, signal),
    enabled: Boolean(ds && purpose && submitted),
    // While paging, the current page stays until the next arrives; a new search never shows old results.
    placeholderData: (previous, previousQuery) => (previousQuery?.queryKey[3] === submitted?.n ? previous : undefined),
    staleTime: Infinity,
    gcTime: 60_000,
  });

  const reset = () => {
    setSubmitted(null);
    setCursors([null]);
    setOpenId(null);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!ds || !purpose) return;
    const criteria: Criterion[] = searchable
      .map((f) => ({ field: f.name, op: f.search === 'prefix' ? ('prefix' as const) : ('exact' as const), value: (values[f.name] ?? '').trim() }))
      .filter((c) => c.value !== '');
    setCursors([null]);
    // Each search gets a new number (never reused, even after clearing): it keys the cached results.
    const n = searchCount.current + 1;
    searchCount.current = n;
    setSubmitted({ n, criteria });
  };

  if (datasets.isPending) return <Loading />;
  if (datasets.isError) return <ErrorAlert error={datasets.error} onRetry={() => void datasets.refetch()} />;
  if (!ds) return <Empty title={t('records.noDatasets')} />;

  const page = cursors.length;
  const rows = results.data?.records ?? [];
  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <form onSubmit={submit} aria-label={t('records.searchForm')}>
          <Stack gap="xs">
            <Group gap="sm" align="flex-end">
              <Select
                label={t('records.dataset')}
                w={280}
                value={ds.name}
                data={list.map((d) => ({ value: d.name, label: datasetLabel(d, lang) }))}
                onChange={(v) => {
                  setChosenDataset(v);
                  setChosenPurpose(null);
                  setValues({});
                  reset();
                }}
              />
              <Select
                label={t('records.purpose')}
                description={t('records.purposeHint')}
                w={220}
                value={purpose}
                placeholder={t('records.noPurpose')}
                data={access.purposes}
                disabled={access.purposes.length === 0}
                onChange={(v) => {
                  setChosenPurpose(v);
                  reset();
                }}
              />
              {until && (
                <Text size="xs" c="dimmed" pb={4}>{t('records.grantUntil', { date: formatDate(until, lang) })}</Text>
              )}
            </Group>
            {access.purposes.length === 0 ? (
              <Alert color="yellow" title={t('records.noGrant.title')} data-testid="no-grant">{t('records.noGrant.body')}</Alert>
            ) : (
              <>
                <SimpleGrid cols={{ base: 2, sm: 3, md: 4, lg: 5 }} spacing="xs" verticalSpacing={4}>
                  {searchable.map((f) => (
                    <TextInput
                      key={f.name}
                      label={
                        <>
                          {fieldLabel(f, lang)}
                          <Text span size="xs" c="dimmed" fw={400}>{t(f.search === 'prefix' ? 'records.prefixMatch' : 'records.exactMatch')}</Text>
                        </>
                      }
                      value={values[f.name] ?? ''}
                      onChange={(e) => {
                        const v = e.currentTarget.value;
                        setValues((s) => ({ ...s, [f.name]: v }));
                      }}
                      autoComplete="off"
                      data-field={f.name}
                    />
                  ))}
                </SimpleGrid>
                <Group gap="xs">
                  <Button type="submit" leftSection={<IconSearch size={14} />} disabled={!purpose}>{t('records.search')}</Button>
                  <Button variant="default" leftSection={<IconX size={14} />} onClick={() => { setValues({}); reset(); }}>{t('records.clear')}</Button>
                  <Text size="xs" c="dimmed">{t('records.normaliseHint')}</Text>
                </Group>
              </>
            )}
          </Stack>
        </form>
      </Paper>

      {access.purposes.length > 0 && (
        <Paper withBorder p="xs">
          {!submitted ? (
            <Empty title={t('records.notSearched.title')}>{t('records.notSearched.body')}</Empty>
          ) : results.isError ? (
            <ErrorAlert error={results.error} />
          ) : results.isPending ? (
            <Loading label={t('records.searching')} />
          ) : rows.length === 0 ? (
            <Empty title={t('records.empty.title')}>{t('records.empty.body')}</Empty>
          ) : (
            <Stack gap={6} data-testid="results-area" data-search={submitted.n} data-page={page} aria-busy={results.isFetching}>
              <Group justify="space-between">
                <Text size="xs" aria-live="polite">
                  {t('records.pageInfo', { page, from: (page - 1) * Number(pageSize) + 1, to: (page - 1) * Number(pageSize) + rows.length })}
                  {results.isFetching && ` ${t('common.loading')}`}
                </Text>
                <Group gap={6}>
                  <Select aria-label={t('records.pageSize')} w={90} data={PAGE_SIZES.map((s) => ({ value: s, label: t('records.perPage', { n: s }) }))} value={pageSize} onChange={(v) => { setPageSize(v ?? '50'); setCursors([null]); }} />
                  <Button variant="default" leftSection={<IconArrowLeft size={14} />} disabled={page <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>{t('records.prev')}</Button>
                  <Button variant="default" rightSection={<IconArrowRight size={14} />} disabled={!results.data?.next} onClick={() => setCursors((c) => [...c, results.data?.next ?? null])}>{t('records.next')}</Button>
                </Group>
              </Group>
              <ResultsTable dataset={ds} fields={fields} records={rows} offset={(page - 1) * Number(pageSize)} onOpen={setOpenId} />
            </Stack>
          )}
        </Paper>
      )}
      {openId && purpose && (
        <Suspense fallback={null}>
          <RecordDrawer dataset={ds} recordId={openId} purposes={access.purposes} initialPurpose={purpose} access={access} onClose={() => setOpenId(null)} />
        </Suspense>
      )}
    </Stack>
  );
}
