import type { Migration } from 'kysely';
import * as m0001 from './0001_spine.js';
import * as m0002 from './0002_environments.js';
import * as m0003 from './0003_instances.js';
import * as m0004 from './0004_jobs.js';
import * as m0005 from './0005_jobs_dispatch.js';
import * as m0006 from './0006_operation_exit_codes.js';
import * as m0007 from './0007_dashboard.js';

/** Ordered by name; Kysely applies the missing ones in one transaction. */
export const migrations: Record<string, Migration> = {
  '0001_spine': m0001,
  '0002_environments': m0002,
  '0003_instances': m0003,
  '0004_jobs': m0004,
  '0005_jobs_dispatch': m0005,
  '0006_operation_exit_codes': m0006,
  '0007_dashboard': m0007,
};
