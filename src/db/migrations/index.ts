import type { Migration } from 'kysely';
import * as m0001 from './0001_spine.js';
import * as m0002 from './0002_environments.js';

/** Ordered by name; Kysely applies the missing ones in one transaction. */
export const migrations: Record<string, Migration> = {
  '0001_spine': m0001,
  '0002_environments': m0002,
};
