/**
 * The bell in the console header: the unread count, and the latest notifications in a panel. Opening
 * one marks it read, marks every screen's data stale, and goes to its screen. Refreshed every 30 s
 * and on every navigation.
 */
import { useEffect, useState } from 'react';
import { ActionIcon, Button, Divider, Group, Indicator, Popover, ScrollArea, Stack, Text, UnstyledButton } from '@mantine/core';
import { IconBell } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { navigate, usePath } from '../../app/router.ts';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { listNotifications, markRead, NOTIFICATIONS_KEY } from './api.ts';

export function NotificationBell() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const path = usePath();
  const [opened, setOpened] = useState(false);
  const q = useQuery({ queryKey: NOTIFICATIONS_KEY, queryFn: listNotifications, refetchInterval: 30_000, staleTime: 5_000 });
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: NOTIFICATIONS_KEY });
  }, [path, qc]);
  const read = useMutation({ mutationFn: markRead, onSettled: () => qc.invalidateQueries({ queryKey: NOTIFICATIONS_KEY }) });
  const unread = q.data?.unread ?? 0;
  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-end" width={420} shadow="md" withinPortal>
      <Popover.Target>
        <Indicator label={unread > 99 ? '99+' : unread} size={16} color="red" disabled={unread === 0} offset={4}>
          <ActionIcon variant="white" color="indigo" size="lg" aria-label={t('notifications.bell', { count: unread })} data-testid="notification-bell" data-unread={unread} onClick={() => setOpened((o) => !o)}>
            <IconBell size={18} />
          </ActionIcon>
        </Indicator>
      </Popover.Target>
      <Popover.Dropdown p="xs">
        <Group justify="space-between" mb={4}>
          <Text fw={700} size="sm">{t('notifications.title')}</Text>
          <Button size="compact-xs" variant="subtle" disabled={unread === 0} onClick={() => read.mutate('all')}>{t('notifications.markAllRead')}</Button>
        </Group>
        <Divider mb={4} />
        <ScrollArea.Autosize mah={420}>
          {(q.data?.notifications ?? []).length === 0 ? (
            <Text size="xs" c="dimmed" py="sm" ta="center">{t('notifications.empty')}</Text>
          ) : (
            <Stack gap={2} data-testid="notification-list">
              {q.data!.notifications.map((n) => (
                <UnstyledButton
                  key={n.id}
                  data-testid="notification"
                  data-kind={n.kind}
                  data-unread={n.readAt === null}
                  p={6}
                  style={{ borderRadius: 4, background: n.readAt === null ? 'var(--mantine-color-indigo-0)' : undefined }}
                  onClick={() => {
                    if (n.readAt === null) read.mutate([n.id]);
                    setOpened(false);
                    // What the notification tells of (a decision, an alert) is news to the screens
                    // holding that data: they fetch it again rather than show what they held.
                    void qc.invalidateQueries();
                    if (n.link) navigate(n.link.split('?')[0]!);
                  }}
                >
                  <Text size="xs" fw={n.readAt === null ? 700 : 500}>{n.title[lang]}</Text>
                  <Text size="xs" c="dimmed" lineClamp={3}>{n.body[lang]}</Text>
                  <Text size="10px" c="dimmed">{formatDateTime(n.createdAt, lang, { seconds: false })}</Text>
                </UnstyledButton>
              ))}
            </Stack>
          )}
        </ScrollArea.Autosize>
      </Popover.Dropdown>
    </Popover>
  );
}
