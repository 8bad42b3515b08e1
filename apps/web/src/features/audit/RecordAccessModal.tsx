/** "Who accessed this record": every audited event naming the record, newest first. */
import { Code, Modal, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useMe } from '../../app/session.tsx';
import { canReadUsers } from '../../app/roles.ts';
import { byId, useDatasets, useUsers } from '../../lib/queries.ts';
import { listAuditEvents } from './api.ts';
import { EventsTable } from './EventsTable.tsx';

export default function RecordAccessModal({ recordId, onClose }: { recordId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const me = useMe();
  const users = useUsers(canReadUsers(me.user));
  const datasets = useDatasets();
  const events = useQuery({
    queryKey: ['audit', 'record', recordId],
    queryFn: ({ signal }) => listAuditEvents({ record: recordId }, null, 200, signal),
    staleTime: 0,
    gcTime: 0,
  });
  return (
    <Modal opened onClose={onClose} size={1100} title={<Text fw={700}>{t('audit.record.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <Stack gap="xs" data-testid="record-access">
        <Text size="xs" c="dimmed">{t('audit.record.subtitle')} <Code fz="xs">{recordId}</Code></Text>
        {events.isPending ? (
          <Loading />
        ) : events.isError ? (
          <ErrorAlert error={events.error} />
        ) : events.data.events.length === 0 ? (
          <Empty title={t('audit.record.empty')} />
        ) : (
          <>
            <Text size="xs">{t('audit.record.count', { n: events.data.events.length })}{events.data.next ? ` ${t('audit.record.more')}` : ''}</Text>
            <EventsTable compact events={events.data.events} users={byId(users.data)} datasets={byId(datasets.data)} />
          </>
        )}
      </Stack>
    </Modal>
  );
}
