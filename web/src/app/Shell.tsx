/**
 * The signed-in frame: navigation, who is signed in, the live connection, the alert tray, the
 * colour scheme. Mounting it opens the tab's hub connection; signing out closes it.
 */
import {
  ActionIcon,
  Anchor,
  AppShell,
  Badge,
  Burger,
  Button,
  Group,
  Indicator,
  NavLink,
  Popover,
  ScrollArea,
  Stack,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useLocation, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { BellIcon, LogoutIcon, MoonIcon, SunIcon } from '../components/icons';
import { api, signedInMark, unwrap } from '../lib/api/client';
import { useHubConnection, useHubStatus, type HubStatus } from '../lib/hub';
import { useSession } from '../lib/session';
import { useHubAlerts, type ShellAlert } from './alerts';

/** Main navigation; `role` hides an entry from those below it (the page would only answer 403). */
const NAV: readonly { to: '/fleet' | '/bots' | '/accounts' | '/jobs' | '/audit' | '/users' | '/settings'; label: string; role?: 'admin' }[] = [
  { to: '/fleet', label: 'Fleet' },
  { to: '/bots', label: 'Bots' },
  { to: '/accounts', label: 'Accounts' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/audit', label: 'Audit log' },
  { to: '/users', label: 'Users', role: 'admin' },
  { to: '/settings', label: 'Settings' },
];

const HUB_BADGE: Record<HubStatus, { color: string; label: string; hint: string }> = {
  connected: { color: 'teal', label: 'Live', hint: 'Connected: changes appear as they happen' },
  connecting: { color: 'gray', label: 'Connecting', hint: 'Connecting to the server' },
  reconnecting: { color: 'orange', label: 'Reconnecting', hint: 'Connection lost: reconnecting' },
};

function HubIndicator() {
  const status = useHubStatus();
  const badge = HUB_BADGE[status];
  return (
    <Tooltip label={badge.hint}>
      <Badge color={badge.color} variant="dot" size="lg" data-testid="hub-status" data-status={status} role="status" aria-label={`Hub: ${badge.label}`}>
        {badge.label}
      </Badge>
    </Tooltip>
  );
}

function ThemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light');
  const next = computed === 'dark' ? 'light' : 'dark';
  return (
    <ActionIcon variant="default" size="lg" onClick={() => setColorScheme(next)} aria-label={`Switch to ${next} theme`}>
      {computed === 'dark' ? <SunIcon /> : <MoonIcon />}
    </ActionIcon>
  );
}

function AlertTray({ alerts, dismiss, clear, onNavigate }: { alerts: ShellAlert[]; dismiss: (id: string) => void; clear: () => void; onNavigate: (a: ShellAlert) => void }) {
  const [opened, setOpened] = useState(false);
  return (
    // The button is the popover's target (it gets aria-haspopup/aria-expanded); the count badge wraps the popover.
    <Indicator label={alerts.length} size={16} color="red" disabled={alerts.length === 0} offset={4}>
      <Popover opened={opened} onChange={setOpened} position="bottom-end" width={340} shadow="md" withinPortal>
        <Popover.Target>
          <ActionIcon variant="default" size="lg" onClick={() => setOpened((o) => !o)} aria-label={`Alerts (${alerts.length})`}>
            <BellIcon />
          </ActionIcon>
        </Popover.Target>
        <Popover.Dropdown>
          <Group justify="space-between" mb="xs">
            <Text fw={600}>Alerts</Text>
            {alerts.length > 0 && (
              <Button size="compact-xs" variant="subtle" onClick={clear}>
                Clear all
              </Button>
            )}
          </Group>
          {alerts.length === 0 ? (
            <Text size="sm" c="dimmed">
              Nothing has gone wrong since you signed in.
            </Text>
          ) : (
            <ScrollArea.Autosize mah={360}>
              <Stack gap="xs" component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
                {alerts.map((a) => (
                  <li key={a.id}>
                    <Group justify="space-between" wrap="nowrap" align="flex-start">
                      <UnstyledButton
                        onClick={() => {
                          setOpened(false);
                          onNavigate(a);
                        }}
                      >
                        <Text size="sm" fw={600} c="red">
                          {a.title}
                        </Text>
                        {a.message && (
                          <Text size="xs" lineClamp={2}>
                            {a.message}
                          </Text>
                        )}
                        <Text size="xs" c="dimmed">
                          {new Date(a.ts).toLocaleTimeString()}
                        </Text>
                      </UnstyledButton>
                      <Button size="compact-xs" variant="subtle" color="gray" onClick={() => dismiss(a.id)} aria-label={`Dismiss: ${a.title}`}>
                        Dismiss
                      </Button>
                    </Group>
                  </li>
                ))}
              </Stack>
            </ScrollArea.Autosize>
          )}
        </Popover.Dropdown>
      </Popover>
    </Indicator>
  );
}

export default function Shell() {
  useHubConnection();
  const { user, can } = useSession();
  const [navOpened, { toggle: toggleNav, close: closeNav }] = useDisclosure(false);
  const { alerts, dismiss, clear } = useHubAlerts();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [signingOut, setSigningOut] = useState(false);

  function openAlert(a: ShellAlert): void {
    closeNav();
    const params = { id: a.link.id };
    void (a.link.to === '/fleet/$id' ? navigate({ to: '/fleet/$id', params }) : navigate({ to: '/bots/$id', params }));
  }

  async function signOut(): Promise<void> {
    setSigningOut(true);
    try {
      await unwrap(api.POST('/api/v1/auth/logout'));
    } catch (err) {
      // The session may already be gone; the browser forgets it either way.
      if (!(err instanceof Error && 'status' in err && err.status === 401)) {
        notifications.show({ color: 'red', title: 'Sign-out failed', message: err instanceof Error ? err.message : String(err) });
        setSigningOut(false);
        return;
      }
    }
    signedInMark.clear();
    await navigate({ to: '/sign-in', search: { reason: 'signed-out' } });
    queryClient.clear();
  }

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !navOpened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={navOpened} onClick={toggleNav} hiddenFrom="sm" size="sm" aria-label={navOpened ? 'Close navigation' : 'Open navigation'} />
            <Title order={2} size="h4">
              pbfleet
            </Title>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <HubIndicator />
            <AlertTray alerts={alerts} dismiss={dismiss} clear={clear} onNavigate={openAlert} />
            <ThemeToggle />
          </Group>
        </Group>
      </AppShell.Header>

      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <AppShell.Section grow>
          {NAV.filter((item) => !item.role || can(item.role)).map((item) => (
            <NavLink key={item.to} component={Link} to={item.to} label={item.label} active={location.pathname.startsWith(item.to)} variant="filled" onClick={closeNav} />
          ))}
        </AppShell.Section>
        <AppShell.Section>
          <Stack gap={4} p="xs">
            <Group gap="xs" wrap="nowrap">
              <Anchor component={Link} to="/account" size="sm" fw={600} truncate data-testid="user-name" onClick={closeNav} aria-label={`${user.username} (my account)`}>
                {user.username}
              </Anchor>
              <Badge size="sm" variant="light" data-testid="user-role">
                {user.role}
              </Badge>
            </Group>
            <Button variant="subtle" color="gray" leftSection={<LogoutIcon />} onClick={() => void signOut()} loading={signingOut} justify="flex-start" px={4}>
              Sign out
            </Button>
          </Stack>
        </AppShell.Section>
      </AppShell.Navbar>

      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
