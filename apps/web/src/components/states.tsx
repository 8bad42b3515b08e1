/** Loading and empty states, so a blank area never leaves people guessing. */
import { Center, Group, Loader, Stack, Text } from '@mantine/core';
import { IconInbox } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <Center py="lg" role="status" aria-live="polite">
      <Group gap="xs">
        <Loader size="sm" />
        <Text size="sm" c="dimmed">{label ?? t('common.loading')}</Text>
      </Group>
    </Center>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Center py="lg">
      <Stack gap={4} align="center">
        <IconInbox size={28} color="var(--mantine-color-gray-5)" aria-hidden />
        <Text size="sm" fw={600}>{title}</Text>
        {children && <Text size="xs" c="dimmed" ta="center" maw={520}>{children}</Text>}
      </Stack>
    </Center>
  );
}
