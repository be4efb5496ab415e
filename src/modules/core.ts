import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { AppConfig } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { ResponseCache } from '../http/response-cache.js';
import type { Clock } from '../lib/clock.js';
import type { Lifecycle } from '../lib/lifecycle.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { Hub } from './hub/hub.js';

/** Where every JSON route lives. */
export const API_PREFIX = '/api/v1';

/** The app with TypeBox schemas typing each route's input. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * What app.ts builds before any feature module and shares with all of them. A module's factory
 * declares the part it uses (`Pick<Core, ...>`) next to the services of other modules it needs.
 */
export interface Core {
  config: AppConfig;
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Realtime topics: services publish, clients subscribe. */
  hub: Hub;
  secretBox: SecretBox;
  /** Start and shutdown steps and background loops, registered by each module as it is built. */
  lifecycle: Lifecycle;
  /** Cached list responses, dropped by any audited write. */
  listCache: ResponseCache;
}

/**
 * A feature module's entry point returns this next to the services other modules use. Its routes
 * are registered after the HTTP layer (auth, CORS, OpenAPI) is in place, in app.ts's order.
 */
export interface FeatureModule {
  routes(api: Api): Promise<void>;
}
