import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { createTheme, Loader, MantineProvider, Notification, type CSSVariablesResolver } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { returnPath } from './app/return-path';
import { router } from './app/router';
import { setUnauthorizedHandler, signedInMark } from './lib/api/client';
import { HubProvider } from './lib/hub';
import { queryClient } from './lib/query-client';

// Shade 8 keeps white text on primary buttons above WCAG AA contrast (4.5:1).
const theme = createTheme({
  primaryColor: 'blue',
  primaryShade: { light: 8, dark: 8 },
  defaultRadius: 'sm',
  // A spinner is a live status: its aria-label needs a role to be allowed (axe aria-prohibited-attr).
  // Every toast's close button has a name (axe button-name), whoever shows it.
  components: {
    Loader: Loader.extend({ defaultProps: { role: 'status' } }),
    // A toast's text under its title is gray.6 in light mode (3.3:1 on white): the body text colour instead.
    Notification: Notification.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close notification' } }, styles: { description: { color: 'var(--mantine-color-text)' } } }),
  },
});

/** The server no longer accepts this session (API 401 or hub close 4001): back to sign-in, saying why, then back here. */
function sessionExpired(): void {
  signedInMark.clear();
  queryClient.clear();
  // Told twice (API 401 and hub 4001): on sign-in already, keep where it leads back to.
  const here = router.state.location;
  const back = returnPath(here.pathname === '/sign-in' ? (here.search as { redirect?: unknown }).redirect : here.href);
  void router.navigate({ to: '/sign-in', search: { reason: 'expired', ...(back ? { redirect: back } : {}) } });
}
setUnauthorizedHandler(sessionExpired);

/** Mantine's dimmed text (gray.6) is 3.3:1 on white; gray.7 meets WCAG AA. */
const cssVariables: CSSVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' }, dark: {} });

const root = document.getElementById('root');
if (!root) throw new Error('#root missing from index.html');

createRoot(root).render(
  <StrictMode>
    {/* Mantine keeps the chosen colour scheme in localStorage. */}
    <MantineProvider theme={theme} cssVariablesResolver={cssVariables} defaultColorScheme="auto">
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <HubProvider onExpired={sessionExpired}>
          <RouterProvider router={router} />
        </HubProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
