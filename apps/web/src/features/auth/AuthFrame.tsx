/** The frame of the sign-in steps: centred card, product name, language switch, and (once signed in) a way out. */
import { useEffect, type ReactNode } from 'react';
import { Anchor, Box, Center, Group, Paper, SegmentedControl, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { setLanguage, useLang } from '../../i18n/index.ts';
import { useSession } from '../../app/session.tsx';
import { setDocumentTitle } from '../../lib/title.ts';

export function AuthFrame({ children, titleKey }: { children: ReactNode; titleKey?: string }) {
  const { t } = useTranslation();
  const lang = useLang();
  const { state, logout } = useSession();
  useEffect(() => {
    setDocumentTitle(t(titleKey ?? 'auth.signInTitle'), t('app.name'));
  }, [t, titleKey]);
  return (
    <Center mih="100vh" p="md" bg="gray.1">
      <Box w="100%" maw={460}>
        <Group justify="space-between" mb="sm">
          <Group gap={8}>
            <img src="/favicon.svg" alt="" width={28} height={28} />
            <Stack gap={0}>
              <Title order={1} size="h3">{t('app.name')}</Title>
              <Text size="xs" c="dimmed">{t('app.tagline')}</Text>
            </Stack>
          </Group>
          <SegmentedControl
            size="xs"
            aria-label={t('app.language')}
            value={lang}
            onChange={(v) => setLanguage(v === 'en' ? 'en' : 'ja')}
            data={[{ value: 'ja', label: '日本語' }, { value: 'en', label: 'English' }]}
          />
        </Group>
        <Paper withBorder shadow="sm" p="lg" radius="md">
          <main>{children}</main>
        </Paper>
        {state.status === 'signedIn' && (
          <Group justify="flex-end" mt="xs">
            <Anchor component="button" type="button" size="xs" onClick={() => void logout()}>{t('auth.cancelAndLogout')}</Anchor>
          </Group>
        )}
      </Box>
    </Center>
  );
}
