import type { Api, Core } from '../core.js';
import { CLOSE, Hub, type HubClient } from './hub.js';
import { hubRoutes } from './hub.routes.js';

/** Sends what a topic already has (a bot's last log lines) to a client that just subscribed to it. */
export type Backlog = (client: HubClient, topic: string) => void;

/**
 * The realtime hub: built first, since every module publishes to it. Modules whose topics have
 * history add a backlog; the hub's sockets close first at shutdown, before work drains.
 */
export function createHubModule({ config, clock, lifecycle }: Pick<Core, 'config' | 'clock' | 'lifecycle'>) {
  const hub = new Hub({
    clock,
    maxBufferedBytes: config.hub.maxBufferedBytes,
    maxLaggedMessages: config.hub.maxLaggedMessages,
    maxConnectionsPerCredential: config.hub.maxConnectionsPerCredential,
  });
  const backlogs: Backlog[] = [];
  lifecycle.every('hub-heartbeat', config.hub.heartbeatIntervalMs, () => hub.tick());
  lifecycle.on('quiesce', () => hub.closeAll(CLOSE.goingAway, 'server shutting down'));

  return {
    hub,
    addBacklog: (backlog: Backlog) => void backlogs.push(backlog),
    routes: async (api: Api) => {
      await api.register(hubRoutes, {
        hub,
        allowOrigins: config.allowOrigins,
        backlog: (client, topic) => {
          for (const backlog of backlogs) backlog(client, topic);
        },
      });
    },
  };
}
