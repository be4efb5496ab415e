/**
 * Which hub messages are alerts (pure, unit-tested in test/web-alerts.test.ts): an environment
 * turning unhealthy or its host key changing, a bot crashing or giving up (`error`), an
 * operation failing. Repeats of the same state are not new alerts.
 */
export interface AlertMessage {
  type: string;
  topic: string;
  payload: unknown;
  ts: string;
}

export interface ShellAlert {
  id: string;
  title: string;
  message: string;
  ts: string;
  link: { to: '/fleet/$id' | '/bots/$id'; id: string };
}

export const ALERT_TOPICS = ['environments', 'instances', 'operations'];
const BAD_HEALTH = new Set(['unhealthy', 'host_key_mismatch']);
const BAD_BOT = new Set(['crashed', 'error']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Turns one hub message into an alert, or null; `seen` remembers the last state per entity. */
export function alertOf(m: AlertMessage, seen: Map<string, string>, envName: (id: string) => string): ShellAlert | null {
  const p = obj(m.payload);
  if (m.type === 'health') {
    const id = str(p.environmentId);
    const status = obj(p.status);
    const health = str(status.health);
    const key = `env:${id}`;
    const before = seen.get(key);
    seen.set(key, health);
    if (!id || !BAD_HEALTH.has(health) || before === health) return null;
    const name = envName(id);
    const title = health === 'host_key_mismatch' ? `${name}: host key changed` : `${name} is unhealthy`;
    return { id: `${key}:${m.ts}`, title, message: str(status.message), ts: m.ts, link: { to: '/fleet/$id', id } };
  }
  if (m.type.startsWith('instance_') && m.type !== 'instance_deleted') {
    const id = str(p.id);
    const status = str(p.status);
    if (!id || !status) return null;
    const key = `bot:${id}`;
    const before = seen.get(key);
    seen.set(key, status);
    if (!BAD_BOT.has(status) || before === status) return null;
    const name = str(p.name) || id;
    const title = status === 'error' ? `Bot ${name} stopped restarting` : `Bot ${name} crashed`;
    return { id: `${key}:${m.ts}`, title, message: str(p.lastError), ts: m.ts, link: { to: '/bots/$id', id } };
  }
  if (m.type === 'operation_update') {
    const id = str(p.id);
    if (!id || str(p.status) !== 'failed' || seen.has(`op:${id}`)) return null;
    seen.set(`op:${id}`, 'failed');
    const envId = str(p.environmentId);
    const type = str(p.type).replace(/_/g, ' ') || 'operation';
    return { id: `op:${id}`, title: `${type} of ${envName(envId)} failed`, message: str(p.error), ts: m.ts, link: { to: '/fleet/$id', id: envId } };
  }
  return null;
}

