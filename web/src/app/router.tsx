/**
 * Code-based routes. Every page is its own chunk (lazyRouteComponent), so the first load
 * carries only the framework and the page it lands on. The `app` layout route is the guard:
 * it loads the signed-in user before any page and sends everyone else to sign-in.
 */
import type { QueryClient } from '@tanstack/react-query';
import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, Outlet, redirect } from '@tanstack/react-router';
import { ApiError, signedInMark } from '../lib/api/client';
import { queryClient } from '../lib/query-client';
import { meQuery } from '../lib/session';
import { botsSearch } from '../pages/bots/sort';
import { RouteError } from './RouteError';
import { returnPath } from './return-path';
import { RoutePending } from './RoutePending';

interface RouterContext {
  queryClient: QueryClient;
}

export type SignInReason = 'expired' | 'signed-out';
export interface SignInSearch {
  reason?: SignInReason;
  /** The app path to return to after sign-in (checked by returnPath: never another origin). */
  redirect?: string;
}

const rootRoute = createRootRouteWithContext<RouterContext>()({ component: Outlet });

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (search: Record<string, unknown>): SignInSearch => {
    const redirect = returnPath(search.redirect);
    return { ...(search.reason === 'expired' || search.reason === 'signed-out' ? { reason: search.reason } : {}), ...(redirect ? { redirect } : {}) };
  },
  component: lazyRouteComponent(() => import('../pages/sign-in/SignInPage')),
});

const Shell = lazyRouteComponent(() => import('./Shell'));

const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  beforeLoad: async ({ context, location }) => {
    // Fetch the shell's code while asking who is signed in, not after (one round trip less on first load).
    void Shell.preload?.()?.catch(() => undefined);
    try {
      await context.queryClient.ensureQueryData(meQuery);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        const expired = signedInMark.get();
        signedInMark.clear();
        // Back to the page asked for after sign-in (a deep link, or where the session ended).
        const back = location.pathname === '/' ? undefined : returnPath(location.href);
        throw redirect({ to: '/sign-in', search: { ...(expired ? { reason: 'expired' as const } : {}), ...(back ? { redirect: back } : {}) } });
      }
      throw error;
    }
  },
  component: Shell,
});

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/fleet' });
  },
});

const fleetRoute = createRoute({ getParentRoute: () => appRoute, path: '/fleet', component: lazyRouteComponent(() => import('../pages/fleet/FleetPage')) });
const environmentRoute = createRoute({ getParentRoute: () => appRoute, path: '/fleet/$id', component: lazyRouteComponent(() => import('../pages/fleet/EnvironmentPage')) });
const botsRoute = createRoute({ getParentRoute: () => appRoute, path: '/bots', validateSearch: botsSearch, component: lazyRouteComponent(() => import('../pages/bots/BotsPage')) });
const botRoute = createRoute({ getParentRoute: () => appRoute, path: '/bots/$id', component: lazyRouteComponent(() => import('../pages/bots/BotPage')) });
const accountsRoute = createRoute({ getParentRoute: () => appRoute, path: '/accounts', component: lazyRouteComponent(() => import('../pages/accounts/AccountsPage')) });

export type JobKind = 'backtest' | 'optimize';
export interface NewJobSearch {
  type?: JobKind;
  /** Where the config comes from: `bot:<id>`, `version:<botId>:<n>`, `backtest:<jobId>`, `pareto:<jobId>:<entry>`, `optimize:<jobId>` or `template`. */
  from?: string;
}
const jobsRoute = createRoute({ getParentRoute: () => appRoute, path: '/jobs', component: lazyRouteComponent(() => import('../pages/jobs/JobsPage')) });
const newJobRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/jobs/new',
  validateSearch: (search: Record<string, unknown>): NewJobSearch => ({
    ...(search.type === 'backtest' || search.type === 'optimize' ? { type: search.type } : {}),
    ...(typeof search.from === 'string' && search.from.length <= 200 ? { from: search.from } : {}),
  }),
  component: lazyRouteComponent(() => import('../pages/jobs/NewJobPage')),
});
const jobRoute = createRoute({ getParentRoute: () => appRoute, path: '/jobs/$id', component: lazyRouteComponent(() => import('../pages/jobs/JobPage')) });

export interface CompareSearch {
  /** Backtest job ids, comma-separated. */
  ids?: string;
}
const backtestResultRoute = createRoute({ getParentRoute: () => appRoute, path: '/results/backtest/$id', component: lazyRouteComponent(() => import('../pages/results/BacktestResultPage')) });
const optimizeResultRoute = createRoute({ getParentRoute: () => appRoute, path: '/results/optimize/$id', component: lazyRouteComponent(() => import('../pages/results/OptimizeResultPage')) });
const compareRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/results/compare',
  validateSearch: (search: Record<string, unknown>): CompareSearch => (typeof search.ids === 'string' && search.ids.length <= 2000 ? { ids: search.ids } : {}),
  component: lazyRouteComponent(() => import('../pages/results/ComparePage')),
});

const auditRoute = createRoute({ getParentRoute: () => appRoute, path: '/audit', component: lazyRouteComponent(() => import('../pages/audit/AuditPage')) });
const usersRoute = createRoute({ getParentRoute: () => appRoute, path: '/users', component: lazyRouteComponent(() => import('../pages/admin/UsersPage')) });
const settingsRoute = createRoute({ getParentRoute: () => appRoute, path: '/settings', component: lazyRouteComponent(() => import('../pages/admin/SettingsPage')) });
const myAccountRoute = createRoute({ getParentRoute: () => appRoute, path: '/account', component: lazyRouteComponent(() => import('../pages/account/MyAccountPage')) });

const routeTree = rootRoute.addChildren([
  signInRoute,
  appRoute.addChildren([
    indexRoute,
    fleetRoute,
    environmentRoute,
    botsRoute,
    botRoute,
    accountsRoute,
    jobsRoute,
    newJobRoute,
    jobRoute,
    backtestResultRoute,
    optimizeResultRoute,
    compareRoute,
    auditRoute,
    usersRoute,
    settingsRoute,
    myAccountRoute,
  ]),
]);

export const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: 'intent',
  defaultPendingComponent: RoutePending,
  defaultErrorComponent: RouteError,
  scrollRestoration: true,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
