/** The console frame: header (who is signed in, language, logout), navigation by role, and the screen, loaded on demand. */
import { lazy, Suspense, useEffect, type ComponentType, type LazyExoticComponent } from 'react';
import { AppShell, Badge, Button, Group, NavLink, SegmentedControl, Stack, Text, Title } from '@mantine/core';
import { IconAdjustmentsAlt, IconBell, IconChecklist, IconDatabase, IconFileExport, IconFileSearch, IconFingerprint, IconHistory, IconInbox, IconKey, IconListDetails, IconLogout, IconMailForward, IconMailCheck, IconMailCog, IconSend, IconBroadcast, IconPlugConnected, IconSettingsCheck, IconShieldCheck, IconSitemap, IconUserOff, IconUsers, IconWritingSign, IconTimeline, IconLock } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { EmploymentBadge } from '../components/badges.tsx';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { Empty, Loading } from '../components/states.tsx';
import { setLanguage, useLang } from '../i18n/index.ts';
import { setDocumentTitle } from '../lib/title.ts';
import type { UserView } from '../lib/types.ts';
import { canReadTransmissionRegister, canReadTransmissionReviews, canReadTransmissionRules, canCheckAuditIntegrity, canReadExportStatus, canManageUsers, canReadAlerts, canReadApprovalHistory, canReadApprovalPolicies, canReadAudit, canReadGrants, canReadProvision, canReadScimLog, canReadSuppression, canReadUsers, canTrace, canReadLifecycle } from './roles.ts';
import { NotificationBell } from '../features/notifications/NotificationBell.tsx';
import { navigate, usePath } from './router.ts';
import { ME_KEY, useMe, useSession } from './session.tsx';

type Route = {
  path: string;
  titleKey: string;
  icon: ComponentType<{ size?: number }>;
  page: LazyExoticComponent<ComponentType>;
  allowed: (u: UserView) => boolean;
};

const ROUTES: Route[] = [
  { path: '/records', titleKey: 'nav.records', icon: IconFileSearch, page: lazy(() => import('../features/records/RecordsPage.tsx')), allowed: () => true },
  { path: '/approvals/inbox', titleKey: 'nav.approvalsInbox', icon: IconInbox, page: lazy(() => import('../features/approvals/InboxPage.tsx')), allowed: () => true },
  { path: '/approvals/mine', titleKey: 'nav.approvalsMine', icon: IconChecklist, page: lazy(() => import('../features/approvals/MyRequestsPage.tsx')), allowed: () => true },
  { path: '/transmissions/new', titleKey: 'nav.transmissionNew', icon: IconSend, page: lazy(() => import('../features/transmissions/ComposePage.tsx')), allowed: () => true },
  { path: '/transmissions/mine', titleKey: 'nav.transmissionsMine', icon: IconMailForward, page: lazy(() => import('../features/transmissions/MyTransmissionsPage.tsx')), allowed: () => true },
  { path: '/transmissions/register', titleKey: 'nav.transmissionRegister', icon: IconListDetails, page: lazy(() => import('../features/transmissions/RegisterPage.tsx')), allowed: canReadTransmissionRegister },
  { path: '/transmissions/reviews', titleKey: 'nav.transmissionReviews', icon: IconMailCheck, page: lazy(() => import('../features/transmissions/ReviewsPage.tsx')), allowed: canReadTransmissionReviews },
  { path: '/transmissions/rules', titleKey: 'nav.transmissionRules', icon: IconMailCog, page: lazy(() => import('../features/transmissions/RulesPage.tsx')), allowed: canReadTransmissionRules },
  { path: '/extractions/new', titleKey: 'nav.extractionNew', icon: IconFileExport, page: lazy(() => import('../features/extraction/NewExtractionPage.tsx')), allowed: () => true },
  { path: '/extractions/mine', titleKey: 'nav.extractionsMine', icon: IconFileExport, page: lazy(() => import('../features/extraction/MyExtractionsPage.tsx')), allowed: () => true },
  { path: '/extractions/suppression', titleKey: 'nav.suppression', icon: IconUserOff, page: lazy(() => import('../features/extraction/SuppressionPage.tsx')), allowed: canReadSuppression },
  { path: '/extractions/provision', titleKey: 'nav.provision', icon: IconWritingSign, page: lazy(() => import('../features/extraction/ProvisionPage.tsx')), allowed: canReadProvision },
  { path: '/extractions/trace', titleKey: 'nav.trace', icon: IconFingerprint, page: lazy(() => import('../features/extraction/TracePage.tsx')), allowed: canTrace },
  { path: '/approvals/history', titleKey: 'nav.approvalsHistory', icon: IconHistory, page: lazy(() => import('../features/approvals/HistoryPage.tsx')), allowed: canReadApprovalHistory },
  { path: '/approvals/policies', titleKey: 'nav.approvalPolicies', icon: IconSettingsCheck, page: lazy(() => import('../features/approvals/PoliciesPage.tsx')), allowed: canReadApprovalPolicies },
  { path: '/admin/users', titleKey: 'nav.users', icon: IconUsers, page: lazy(() => import('../features/users/UsersPage.tsx')), allowed: canReadUsers },
  { path: '/admin/organization', titleKey: 'nav.organization', icon: IconSitemap, page: lazy(() => import('../features/organization/OrganizationPage.tsx')), allowed: canManageUsers },
  { path: '/admin/scim', titleKey: 'nav.scim', icon: IconPlugConnected, page: lazy(() => import('../features/scim/ScimPage.tsx')), allowed: canReadScimLog },
  { path: '/admin/lifecycle', titleKey: 'nav.lifecycle', icon: IconTimeline, page: lazy(() => import('../features/lifecycle/LifecyclePage.tsx')), allowed: canReadLifecycle },
  { path: '/admin/datasets', titleKey: 'nav.datasets', icon: IconDatabase, page: lazy(() => import('../features/datasets/DatasetsPage.tsx')), allowed: () => true },
  { path: '/admin/grants', titleKey: 'nav.grants', icon: IconKey, page: lazy(() => import('../features/grants/GrantsPage.tsx')), allowed: canReadGrants },
  { path: '/audit', titleKey: 'nav.audit', icon: IconListDetails, page: lazy(() => import('../features/audit/AuditPage.tsx')), allowed: canReadAudit },
  { path: '/audit/integrity', titleKey: 'nav.auditIntegrity', icon: IconShieldCheck, page: lazy(() => import('../features/audit/IntegrityPage.tsx')), allowed: canCheckAuditIntegrity },
  { path: '/audit/exports', titleKey: 'nav.auditExports', icon: IconBroadcast, page: lazy(() => import('../features/audit/ExportsPage.tsx')), allowed: canReadExportStatus },
  { path: '/alerts', titleKey: 'nav.alerts', icon: IconBell, page: lazy(() => import('../features/alerts/AlertsPage.tsx')), allowed: canReadAlerts },
  { path: '/alerts/rules', titleKey: 'nav.monitorRules', icon: IconAdjustmentsAlt, page: lazy(() => import('../features/alerts/RulesPage.tsx')), allowed: canReadAlerts },
  { path: '/account/security', titleKey: 'nav.security', icon: IconLock, page: lazy(() => import('../features/account/SecurityPage.tsx')), allowed: () => true },
];

export default function Shell() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const { logout } = useSession();
  const qc = useQueryClient();
  const path = usePath();
  const routes = ROUTES.filter((r) => r.allowed(me.user));
  const route = routes.find((r) => r.path === path);

  useEffect(() => {
    if (path === '/' || path === '/index.html') navigate('/records', { replace: true });
  }, [path]);

  // Every navigation re-checks the session: a retired or revoked user is sent to the login screen
  // on the next click, and new or revoked grants show up without a reload.
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: ME_KEY });
  }, [path, qc]);

  useEffect(() => {
    setDocumentTitle(route ? t(route.titleKey) : t('nav.notFound'), t('app.name'));
  }, [route, t]);

  const Page = route?.page;
  return (
    <AppShell header={{ height: 46 }} navbar={{ width: 196, breakpoint: 0 }} padding="sm">
      <a className="skip-link" href="#main">{t('app.skipToContent')}</a>
      <AppShell.Header px="sm" bg="indigo.9" c="white">
        <Group h="100%" justify="space-between" wrap="nowrap">
          <Group gap={8} wrap="nowrap">
            <img src="/favicon.svg" alt="" width={22} height={22} />
            <Text fw={700} size="md" c="white">{t('app.name')}</Text>
            <Text size="xs" c="indigo.1" visibleFrom="sm">{t('app.tagline')}</Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Stack gap={0} align="flex-end">
              <Text size="xs" fw={700} c="white" data-testid="current-user">{me.user.displayName} ({me.user.login})</Text>
              <Group gap={4}>
                {me.user.roles.map((r) => <Badge key={r} size="xs" color="indigo" variant="white">{t(`roles.${r}`)}</Badge>)}
              </Group>
            </Stack>
            <EmploymentBadge value={me.user.employmentType} onDark />
            <NotificationBell />
            <SegmentedControl
              size="xs"
              aria-label={t('app.language')}
              value={lang}
              onChange={(v) => setLanguage(v === 'en' ? 'en' : 'ja')}
              data={[{ value: 'ja', label: '日本語' }, { value: 'en', label: 'English' }]}
            />
            <Button variant="white" color="indigo" leftSection={<IconLogout size={14} />} onClick={() => void logout()}>
              {t('auth.logout')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      {/* Scrolls on its own: a person with many roles has more screens than a small window is tall. */}
      <AppShell.Navbar p={6} aria-label={t('nav.label')} style={{ overflowY: 'auto' }}>
        <nav aria-label={t('nav.label')}>
          {routes.map((r) => (
            <NavLink
              key={r.path}
              href={r.path}
              label={t(r.titleKey)}
              leftSection={<r.icon size={16} />}
              active={r.path === path}
              aria-current={r.path === path ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(r.path);
              }}
            />
          ))}
        </nav>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Title order={1} size="h2" mb="xs">{route ? t(route.titleKey) : t('nav.notFound')}</Title>
        <ErrorBoundary resetKey={path}>
          <Suspense fallback={<Loading />}>
            {Page ? <Page /> : path === '/' ? <Loading /> : <Empty title={t('nav.notFound')}>{t('nav.notFoundHint')}</Empty>}
          </Suspense>
        </ErrorBoundary>
      </AppShell.Main>
    </AppShell>
  );
}
