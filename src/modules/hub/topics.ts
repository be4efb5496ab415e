/**
 * Topics clients may subscribe to. Collections (`environments`) carry every change of that
 * kind; `<kind>:<id>` carries one entity; `instance:<id>:logs` and `job:<id>:logs` carry a bot's or a
 * job's output lines (log batches, a backlog first).
 */
const COLLECTIONS = new Set(['environments', 'instances', 'jobs', 'operations', 'dashboard', 'audit']);
const ENTITY = /^(environment|instance|job|operation):[A-Za-z0-9_-]{1,64}$/;
const LOGS = /^(instance|job):[A-Za-z0-9_-]{1,64}:logs$/;

export const MAX_TOPICS_PER_CLIENT = 200;

export function isValidTopic(topic: string): boolean {
  return COLLECTIONS.has(topic) || ENTITY.test(topic) || LOGS.test(topic);
}

export const topics = {
  environments: 'environments',
  environment: (id: string) => `environment:${id}`,
  instances: 'instances',
  instance: (id: string) => `instance:${id}`,
  instanceLogs: (id: string) => `instance:${id}:logs`,
  jobs: 'jobs',
  job: (id: string) => `job:${id}`,
  jobLogs: (id: string) => `job:${id}:logs`,
  operations: 'operations',
  operation: (id: string) => `operation:${id}`,
  dashboard: 'dashboard',
  audit: 'audit',
} as const;
