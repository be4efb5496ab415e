import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import type { Role } from '../../src/lib/roles.js';
import type { Environment } from '../../src/modules/environments/environments.types.js';
import type { HubMessage, Transport } from '../../src/modules/hub/hub.js';
import type { TestApp } from './app.js';
import type { TestSshd } from './sshd.js';

export const API = '/api/v1';
/** SSRF guard allow-list for the local test targets (sshd, HTTP targets). */
export const LOOPBACK_ALLOWED = { network: { allowTargets: ['127.0.0.0/8', '::1'] } };

/** A check that never fires by itself during a test (first run after a random part of a day); runNow still works. */
export const QUIET_SSH_CHECK = { enabled: true, type: 'ssh', interval: 86_400, timeout: 10, retries: 0 } as const;
export const NO_CHECK = { enabled: false, type: 'none', interval: 60, timeout: 10, retries: 0 } as const;

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { in?: string; fields?: { field: string; message: string }[] } };
}

export interface OperationView {
  id: string;
  environmentId: string;
  type: string;
  status: 'in_progress' | 'succeeded' | 'failed';
  params: Record<string, unknown>;
  output: string;
  error: string | null;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  exitCode: number | null;
  httpStatus: number | null;
}

/** The SHA256 fingerprint of a public key file, as `ssh-keygen -l` prints it. */
export const fingerprintOfFile = (publicKeyPath: string): string => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]).toString().split(' ')[1] ?? '';

/** An ed25519 key pair made with ssh-keygen (optionally encrypted), with its fingerprint. */
export function generateKey(passphrase = ''): { privateKey: string; publicKey: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pbfleet-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'pbfleet-test', '-f', join(dir, 'key')]);
    return { privateKey: readFileSync(join(dir, 'key'), 'utf8'), publicKey: readFileSync(join(dir, 'key.pub'), 'utf8'), fingerprint: fingerprintOfFile(join(dir, 'key.pub')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The body of a private key (its base64 lines), which must never leave the server. */
export const keyMaterial = (privateKey: string): string[] => privateKey.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));

/** A create body for an environment reached over the test sshd. */
export function sshEnvironmentBody(sshd: Pick<TestSshd, 'host' | 'port' | 'username' | 'privateKey'>, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    target: { host: sshd.host, port: sshd.port },
    credentials: { type: 'key', username: sshd.username, privateKey: sshd.privateKey },
    healthCheck: QUIET_SSH_CHECK,
    ...extra,
  };
}

/** Polls until the condition holds, or fails naming what never happened. */
export async function until<T>(probe: () => T | Promise<T>, what: string, ms = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Thin inject wrapper: every response body is kept, so a test can assert no secret ever left the server. */
export function apiClient(t: TestApp) {
  const bodies: string[] = [];
  const call = async (role: Role | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<LightMyRequestResponse> => {
    const res = await t.app.inject({ method, url: `${API}${url}`, headers: role ? t.auth(role) : {}, ...(payload !== undefined && { payload: payload as Record<string, unknown> }) });
    bodies.push(res.body);
    return res;
  };
  return {
    bodies,
    call,
    get: (url: string, role: Role = 'viewer') => call(role, 'GET', url),
    post: (url: string, payload?: unknown, role: Role = 'admin') => call(role, 'POST', url, payload),
    put: (url: string, payload: unknown, role: Role = 'admin') => call(role, 'PUT', url, payload),
    del: (url: string, role: Role = 'admin') => call(role, 'DELETE', url),
    /** Creates an environment, failing the test with the server's answer when that is refused. */
    async create(payload: Record<string, unknown>, url = '/environments'): Promise<Environment> {
      const res = await call('admin', 'POST', url, payload);
      if (res.statusCode !== 201) throw new Error(`creating ${String(payload.name)}: ${res.statusCode} ${res.body}`);
      return res.json<Environment>();
    },
    environment: async (id: string) => (await call('viewer', 'GET', `/environments/${id}`)).json<Environment>(),
    /** Waits (bounded) for an operation to finish and returns it. */
    async operation(id: string, ms = 20_000, role: 'viewer' | 'operator' = 'operator'): Promise<OperationView> {
      return until(async () => {
        const op = (await call(role, 'GET', `/operations/${id}`)).json<OperationView>();
        return op.status === 'in_progress' ? undefined : op;
      }, `operation ${id} to finish`, ms);
    },
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** A hub subscriber that records every message, as a WebSocket client would receive them. */
export function hubSpy(t: TestApp, topics: string[], role: 'viewer' | 'operator' | 'admin' = 'viewer') {
  const messages: HubMessage[] = [];
  const transport: Transport = {
    bufferedBytes: () => 0,
    write: (text) => void messages.push(JSON.parse(text) as HubMessage),
    heartbeat: () => true,
    close: () => undefined,
  };
  const client = t.hub.attach({ userId: t.userIds[role], username: `${role}1`, role, kind: 'session', credentialId: `spy-${role}`, expiresAt: null }, transport);
  t.hub.subscribe(client, topics);
  return {
    messages,
    of: (type: string, topic?: string) => messages.filter((m) => m.type === type && (topic === undefined || m.topic === topic)),
    detach: () => t.hub.detach(client),
  };
}

/** A small JSON server for version lists and HTTP commands; records what it received. */
export async function startJsonServer(routes: Record<string, unknown>) {
  const received: { method: string; path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      received.push({ method: req.method ?? '', path, body });
      if (!(path in routes)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(routes[path]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Everything in the database, as text: to prove a secret is stored nowhere in clear. */
export async function dumpDatabase(t: TestApp): Promise<string> {
  const db = t.database.db;
  const tables = ['environments', 'audit_logs', 'operations', 'health_samples', 'settings'] as const;
  const rows = await Promise.all(tables.map((table) => db.selectFrom(table).selectAll().execute()));
  return JSON.stringify(rows);
}

export async function auditEntries(t: TestApp, environmentId?: string) {
  let query = t.database.db.selectFrom('audit_logs').selectAll();
  if (environmentId) query = query.where('environment_id', '=', environmentId);
  return query.orderBy('ts').orderBy('id').execute();
}
