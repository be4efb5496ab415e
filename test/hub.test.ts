import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { HubClient } from '../src/modules/hub/hub.js';
import { createTestApp, login, manualClock, type TestApp, type TestAppOptions } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

interface HubMsg {
  type: string;
  topic: string | null;
  payload: Record<string, unknown>;
  ts: string;
}

interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: unknown };
}

const WAIT_MS = 5_000;

/** Rejects with a message naming what never happened, instead of hanging until the test timeout. */
async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls a condition that has no event of its own (server-side state). */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A WebSocket client that records every hub message it receives. */
class Peer {
  readonly received: HubMsg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly errors: Error[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on('error', (error) => this.errors.push(error));
    ws.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString('utf8')) as HubMsg);
      for (const listener of [...this.listeners]) listener();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  }

  get welcome(): HubMsg {
    const first = this.received[0];
    if (first?.type !== 'welcome') throw new Error(`first message is ${JSON.stringify(first)}, not welcome`);
    return first;
  }

  /** The first message at index >= from that matches. */
  waitFor(match: (m: HubMsg) => boolean, what: string, from = 0): Promise<HubMsg> {
    const find = () => this.received.slice(from).find(match);
    const found = find();
    if (found) return Promise.resolve(found);
    let listener = () => {};
    const promise = new Promise<HubMsg>((resolve, reject) => {
      listener = () => {
        const m = find();
        if (m) resolve(m);
      };
      this.listeners.add(listener);
      void this.closed.then((c) => {
        const cause = this.errors.map((e) => e.message).join('; ');
        reject(new Error(`socket closed (${c.code} ${c.reason}${cause ? `; ${cause}` : ''}) while waiting for ${what}`));
      });
    });
    return within(promise, what).finally(() => this.listeners.delete(listener));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends a request and waits for the answer of the given type. */
  async request(message: unknown, answer: string): Promise<HubMsg> {
    const from = this.received.length;
    this.send(message);
    return this.waitFor((m) => m.type === answer, answer, from);
  }

  /** A ping/pong round trip: everything the server sent before it has arrived once this resolves. */
  async sync(): Promise<void> {
    await this.request({ type: 'ping' }, 'pong');
  }

  ofTopic(topic: string): HubMsg[] {
    return this.received.filter((m) => m.topic === topic);
  }
}

interface SseEvent {
  event: string;
  data: string;
}

class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  readonly ended: Promise<void>;
  private buffer = '';
  private readonly listeners = new Set<() => void>();

  constructor(readonly res: http.IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let at: number;
      while ((at = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('event: ')) event = line.slice('event: '.length);
          else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
        }
        if (data.length) this.events.push({ event, data: data.join('\n') });
      }
      for (const listener of [...this.listeners]) listener();
    });
    this.ended = new Promise((resolve) => res.once('end', () => resolve()));
  }

  get messages(): HubMsg[] {
    return this.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as HubMsg);
  }

  async waitFor(match: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
    const found = this.events.find(match);
    if (found) return found;
    let listener = () => {};
    const promise = new Promise<SseEvent>((resolve) => {
      listener = () => {
        const e = this.events.find(match);
        if (e) resolve(e);
      };
      this.listeners.add(listener);
    });
    return within(promise, what).finally(() => this.listeners.delete(listener));
  }

  waitForMessage(match: (m: HubMsg) => boolean, what: string): Promise<HubMsg> {
    return this.waitFor((e) => e.event === 'message' && match(JSON.parse(e.data) as HubMsg), what).then((e) => JSON.parse(e.data) as HubMsg);
  }
}

const big = 'x'.repeat(60_000);
const seqOf = (m: HubMsg): number | undefined => (m.payload as { seq?: number }).seq;

describe.each(testDatabases)('real-time hub on $name', (database) => {
  let t: TestApp;
  let port: number;
  const apps: TestApp[] = [];
  const sockets: WebSocket[] = [];
  const requests: http.ClientRequest[] = [];

  async function start(options: TestAppOptions = {}): Promise<TestApp> {
    const app = await createTestApp(database, options);
    apps.push(app);
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    t = app;
    port = (app.app.server.address() as AddressInfo).port;
    return app;
  }

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    for (const req of requests.splice(0)) req.destroy();
    for (const app of apps.splice(0)) await within(app.close(), 'the app to close');
  });

  type Auth = { token?: string; via?: 'header' | 'protocol' | 'query'; origin?: string };

  function open(path: string, { token = t.tokens.viewer, via = 'header', origin }: Auth = {}): WebSocket {
    const url = new URL(path, `ws://127.0.0.1:${port}`);
    if (token && via === 'query') url.searchParams.set('token', token);
    const headers: Record<string, string> = token && via === 'header' ? { authorization: `Bearer ${token}` } : {};
    const protocols = token && via === 'protocol' ? ['pbfleet', `bearer.${token}`] : [];
    const ws = new WebSocket(url, protocols, { headers, ...(origin && { origin }) });
    sockets.push(ws);
    return ws;
  }

  /** Opens a socket and waits for its welcome. */
  async function connect(path: string, auth: Auth = {}): Promise<Peer> {
    const peer = new Peer(open(path, auth));
    await peer.waitFor((m) => m.type === 'welcome', `the welcome on ${path}`);
    return peer;
  }

  /** Opens a socket that must be refused; returns the HTTP answer. */
  function refused(path: string, auth: Auth = {}): Promise<{ status: number; body: ErrorBody }> {
    const ws = open(path, auth);
    const answer = new Promise<{ status: number; body: ErrorBody }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody }));
      });
      ws.on('open', () => reject(new Error(`upgrade of ${path} was accepted`)));
      ws.on('error', reject);
    });
    return within(answer, `the refusal of ${path}`);
  }

  function openSse(path: string, headers: Record<string, string> = {}): Promise<SseStream> {
    return within(
      new Promise<SseStream>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => resolve(new SseStream(res)));
        req.on('error', reject);
        requests.push(req);
      }),
      `the response of ${path}`,
    );
  }

  /** The hub's record of each connection, captured as the server attaches it. */
  function captureHubClients(): (peer: Peer) => HubClient {
    const attach = vi.spyOn(t.hub, 'attach');
    return (peer) => {
      const id = (peer.welcome.payload as { clientId: number }).clientId;
      const client = attach.mock.results.map((r) => r.value as HubClient).find((c) => c.id === id);
      if (!client) throw new Error(`no hub client ${id}`);
      return client;
    };
  }

  const serverConnections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

  describe('upgrade and authentication', () => {
    it('accepts the token as Authorization header, as bearer.<token> subprotocol, or as ?token=', async () => {
      await start();
      const header = await connect('/ws', { via: 'header' });
      const protocol = await connect('/ws', { via: 'protocol', token: t.tokens.operator });
      const query = await connect('/ws', { via: 'query', token: t.tokens.admin });

      expect(protocol.ws.protocol).toBe('pbfleet');
      expect(header.welcome).toEqual({
        type: 'welcome',
        topic: null,
        payload: { clientId: expect.any(Number), user: 'viewer1', role: 'viewer', topics: [], rejected: [] },
        ts: expect.any(String),
      });
      expect(protocol.welcome.payload).toMatchObject({ user: 'operator1', role: 'operator' });
      expect(query.welcome.payload).toMatchObject({ user: 'admin1', role: 'admin' });
      expect(new Set([header, protocol, query].map((p) => p.welcome.payload.clientId)).size).toBe(3);
      expect(t.hub.size).toBe(3);
    });

    it('refuses an upgrade without a valid token with 401 and the error envelope, leaving no connection behind', async () => {
      await start();
      const attempts: [string, Auth][] = [
        ['no token', { token: '' }],
        ['bad header', { token: 'not-a-token', via: 'header' }],
        ['bad protocol', { token: 'x.y.z', via: 'protocol' }],
        ['bad query', { token: 'pbf_forged', via: 'query' }],
        ['tampered jwt', { token: `${t.tokens.viewer}x`, via: 'query' }],
      ];
      for (const [what, auth] of attempts) {
        const { status, body } = await refused('/ws?topics=audit', auth);
        expect(status, what).toBe(401);
        expect(body, what).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String), requestId: expect.any(String) } });
      }
      for (const path of ['/ws/dashboard/metrics', '/ws/jobs/j1/progress', '/ws/instances/bot-1/logs']) {
        expect((await refused(path, { token: '' })).status, path).toBe(401);
      }
      expect(t.hub.size).toBe(0);
      // The refused sockets are closed by the server, not left half-open until shutdown.
      for (const ws of sockets.splice(0)) ws.terminate();
      await until(async () => (await serverConnections()) === 0, 'the refused connections to close');
    });

    it('refuses a foreign Origin with 403 and accepts the same host', async () => {
      await start();
      const foreign = await refused('/ws', { origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.body.error.code).toBe('FORBIDDEN');
      expect((await refused('/ws/dashboard/metrics', { origin: 'https://evil.example', via: 'query' })).status).toBe(403);

      const same = await connect('/ws', { origin: `http://127.0.0.1:${port}` });
      expect(same.welcome.payload.user).toBe('viewer1');
      const noOrigin = await connect('/ws');
      expect(noOrigin.welcome.type).toBe('welcome');
      expect(t.hub.size).toBe(2);
    });

    it('accepts an Origin listed in allowOrigins', async () => {
      await start({ overrides: { allowOrigins: ['https://ok.example'] } });
      const ok = await connect('/ws?topics=dashboard', { origin: 'https://ok.example', via: 'protocol' });
      expect(ok.welcome.payload.topics).toEqual(['dashboard']);
      expect((await refused('/ws', { origin: 'https://evil.example' })).status).toBe(403);
    });
  });

  describe('messages', () => {
    it('subscribes, fans out per topic, unsubscribes, and answers ping', async () => {
      await start();
      const a = await connect('/ws');
      const b = await connect('/ws?topics=jobs,bogus,job:j1');
      expect(b.welcome.payload).toMatchObject({ topics: ['jobs', 'job:j1'], rejected: [{ topic: 'bogus', reason: 'unknown topic' }] });

      const ack = await a.request({ type: 'subscribe', topics: ['jobs', 'instance:bot-1:logs', 'not-a-topic', 'job:'] }, 'subscribed');
      expect(ack).toEqual({
        type: 'subscribed',
        topic: null,
        payload: {
          accepted: ['jobs', 'instance:bot-1:logs'],
          rejected: [
            { topic: 'not-a-topic', reason: 'unknown topic' },
            { topic: 'job:', reason: 'unknown topic' },
          ],
        },
        ts: expect.any(String),
      });

      t.hub.publish('jobs', 'job_updated', { id: 'j7', status: 'running' });
      t.hub.publish('instance:bot-1:logs', 'log', { line: 'hello' });
      t.hub.publish('dashboard', 'metrics', { cpu: 1 });
      const got = await a.waitFor((m) => m.type === 'log', 'the log line');
      expect(got).toEqual({ type: 'log', topic: 'instance:bot-1:logs', payload: { line: 'hello' }, ts: expect.any(String) });
      expect(Date.parse(got.ts)).not.toBeNaN();
      await b.waitFor((m) => m.type === 'job_updated', 'the job update on b');
      await Promise.all([a.sync(), b.sync()]);
      expect(a.ofTopic('jobs').map((m) => m.payload)).toEqual([{ id: 'j7', status: 'running' }]);
      expect(b.ofTopic('jobs')).toHaveLength(1);
      expect(b.ofTopic('instance:bot-1:logs')).toEqual([]);
      expect([...a.received, ...b.received].filter((m) => m.topic === 'dashboard')).toEqual([]);

      expect((await a.request({ type: 'unsubscribe', topics: ['jobs'] }, 'unsubscribed')).payload).toEqual({ topics: ['jobs'] });
      t.hub.publish('jobs', 'job_updated', { id: 'j8' });
      t.hub.publish('instance:bot-1:logs', 'log', { line: 'after' });
      await a.waitFor((m) => m.payload?.line === 'after', 'the second log line');
      await b.waitFor((m) => m.payload?.id === 'j8', 'j8 on b');
      expect(a.ofTopic('jobs')).toHaveLength(1);

      const pong = await a.request({ type: 'ping' }, 'pong');
      expect(pong).toEqual({ type: 'pong', topic: null, payload: {}, ts: expect.any(String) });
    });

    it('answers garbage with an error message and keeps the socket open', async () => {
      await start();
      const peer = await connect('/ws');
      const garbage = ['not json', '42', 'null', '"subscribe"', '{"type":"dance"}', '{"topics":["jobs"]}', Buffer.from([1, 2, 3])];
      for (const message of garbage) {
        const from = peer.received.length;
        if (Buffer.isBuffer(message)) peer.ws.send(message);
        else peer.send(message);
        const error = await peer.waitFor((m) => m.type === 'error', `the error for ${String(message)}`, from);
        expect(error.payload).toEqual({ code: 'VALIDATION_ERROR', message: expect.any(String) });
      }
      expect(peer.ws.readyState).toBe(WebSocket.OPEN);
      await peer.sync();
      expect((await peer.request({ type: 'subscribe', topics: ['jobs'] }, 'subscribed')).payload.accepted).toEqual(['jobs']);
      t.hub.publish('jobs', 'still_here', {});
      await peer.waitFor((m) => m.type === 'still_here', 'a message after the garbage');
      expect(t.hub.size).toBe(1);
    });

    it('pre-subscribed paths receive their topic without subscribing', async () => {
      await start();
      const logs = await connect('/ws/instances/bot-1/logs', { via: 'query' });
      const job = await connect('/ws/jobs/j42/progress', { via: 'protocol' });
      const dashboard = await connect('/ws/dashboard/metrics');
      expect(logs.welcome.payload.topics).toEqual(['instance:bot-1:logs']);
      expect(job.welcome.payload.topics).toEqual(['job:j42']);
      expect(dashboard.welcome.payload.topics).toEqual(['dashboard']);

      t.hub.publish('instance:bot-2:logs', 'log', { line: 'other bot' });
      t.hub.publish('job:j1', 'progress', { pct: 1 });
      t.hub.publish('instance:bot-1:logs', 'log', { line: 'mine' });
      t.hub.publish('job:j42', 'progress', { pct: 50 });
      t.hub.publish('dashboard', 'metrics', { bots: 3 });

      expect((await logs.waitFor((m) => m.type === 'log', 'a log line')).payload).toEqual({ line: 'mine' });
      expect((await job.waitFor((m) => m.type === 'progress', 'progress')).payload).toEqual({ pct: 50 });
      expect((await dashboard.waitFor((m) => m.type === 'metrics', 'metrics')).payload).toEqual({ bots: 3 });
      await Promise.all([logs.sync(), job.sync(), dashboard.sync()]);
      expect(logs.received.map((m) => m.type)).toEqual(['welcome', 'log', 'pong']);
      expect(job.received.map((m) => m.type)).toEqual(['welcome', 'progress', 'pong']);
      expect(dashboard.received.map((m) => m.type)).toEqual(['welcome', 'metrics', 'pong']);
    });

    it('publishes an audit_entry on the audit topic when the API changes something', async () => {
      await start();
      const auditor = await connect('/ws?topics=audit', { token: t.tokens.admin });
      const other = await connect('/ws?topics=dashboard');
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: t.auth('admin'), payload: { username: 'carol', password: 'a long enough secret', role: 'viewer' } });
      expect(res.statusCode).toBe(201);
      const entry = await auditor.waitFor((m) => m.type === 'audit_entry' && m.payload?.action === 'user_create', 'the user_create audit entry');
      expect(entry.topic).toBe('audit');
      expect(entry.payload).toMatchObject({ action: 'user_create', level: 'success', message: expect.stringContaining('carol') });
      await other.sync();
      expect(other.received.filter((m) => m.type === 'audit_entry')).toEqual([]);
    });

    it('sends auth entries of the audit topic (logins, typed usernames, IPs) to admins only', async () => {
      await start();
      const admin = await connect('/ws?topics=audit', { token: t.tokens.admin });
      const operator = await connect('/ws?topics=audit', { token: t.tokens.operator });
      const viewer = await connect('/ws?topics=audit');
      const failed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin1', password: 'typed-by-mistake' } });
      expect(failed.statusCode).toBe(401);
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: t.auth('admin'), payload: { username: 'dave', password: 'a long enough secret', role: 'viewer' } });
      expect(created.statusCode).toBe(201);
      for (const peer of [admin, operator, viewer]) await peer.waitFor((m) => m.type === 'audit_entry' && m.payload?.action === 'user_create', 'the user_create entry');
      await Promise.all([admin.sync(), operator.sync(), viewer.sync()]);
      const types = (peer: Peer) => peer.received.filter((m) => m.type === 'audit_entry').map((m) => m.payload.type);
      expect(types(admin)).toEqual(['auth', 'action']);
      expect(types(operator)).toEqual(['action']);
      expect(types(viewer)).toEqual(['action']);
    });
  });

  describe('slow clients', () => {
    const limits = { maxBufferedBytes: 65_536, maxLaggedMessages: 50 };

    /**
     * Publishes large messages one by one, each time waiting until `fast` has it (so only the
     * paused client falls behind), until `stop` says so. Returns how many were published and
     * the largest send buffer the server held for `slow`.
     */
    async function flood(fast: Peer, slow: HubClient, stop: () => boolean): Promise<{ published: number; maxBuffered: number; messageBytes: number }> {
      let maxBuffered = 0;
      let messageBytes = 0;
      let seq = 0;
      for (; seq < 2_000 && !stop(); seq++) {
        const from = fast.received.length;
        t.hub.publish('dashboard', 'big', { seq, big });
        maxBuffered = Math.max(maxBuffered, slow.transport.bufferedBytes());
        const n = seq;
        await fast.waitFor((m) => seqOf(m) === n, `message ${n} on the fast client`, from);
        messageBytes = Math.max(messageBytes, JSON.stringify(fast.received.at(-1)).length);
      }
      return { published: seq, maxBuffered, messageBytes };
    }

    it('skips a client that does not read, keeps its buffer bounded, and tells it how many it missed', async () => {
      await start({ overrides: { hub: limits } });
      const clientOf = captureHubClients();
      const fast = await connect('/ws/dashboard/metrics');
      const slow = await connect('/ws/dashboard/metrics');
      const slowClient = clientOf(slow);
      slow.ws.pause();

      const { published, maxBuffered, messageBytes } = await flood(fast, slowClient, () => slowClient.skipped >= 5);
      expect(slowClient.skipped).toBe(5);
      expect(maxBuffered).toBeGreaterThan(limits.maxBufferedBytes);
      expect(maxBuffered).toBeLessThanOrEqual(limits.maxBufferedBytes + messageBytes + 64);
      expect(slowClient.transport.bufferedBytes()).toBeLessThanOrEqual(limits.maxBufferedBytes + messageBytes + 64);

      // The slow client catches up on what was buffered, then learns what it missed.
      const delivered = published - 5;
      slow.ws.resume();
      await slow.waitFor((m) => seqOf(m) === delivered - 1, 'the slow client to catch up');
      t.hub.publish('dashboard', 'big', { seq: published, big: '' });
      await slow.waitFor((m) => seqOf(m) === published, 'the message after the lag');
      expect(slow.received.slice(1).map((m) => (m.type === 'lagged' ? `lagged:${String(m.payload.skipped)}` : seqOf(m)))).toEqual([
        ...Array.from({ length: delivered }, (_, i) => i),
        'lagged:5',
        published,
      ]);
      expect(slow.received.find((m) => m.type === 'lagged')).toEqual({ type: 'lagged', topic: null, payload: { skipped: 5 }, ts: expect.any(String) });

      // The other client got everything, in order, without any lag notice.
      await fast.waitFor((m) => seqOf(m) === published, 'the last message on the fast client');
      expect(fast.received.slice(1).map(seqOf)).toEqual(Array.from({ length: published + 1 }, (_, i) => i));
      expect(slow.ws.readyState).toBe(WebSocket.OPEN);
    });

    it('closes a client with 1013 once it missed more than maxLaggedMessages', async () => {
      await start({ overrides: { hub: limits } });
      const clientOf = captureHubClients();
      const fast = await connect('/ws/dashboard/metrics');
      const slow = await connect('/ws?topics=dashboard');
      const slowClient = clientOf(slow);
      slow.ws.pause();

      const { published, maxBuffered, messageBytes } = await flood(fast, slowClient, () => slowClient.closed);
      expect(slowClient.closed).toBe(true);
      expect(slowClient.skipped).toBe(limits.maxLaggedMessages + 1);
      expect(maxBuffered).toBeLessThanOrEqual(limits.maxBufferedBytes + messageBytes + 64);
      expect(t.hub.size).toBe(1);

      slow.ws.resume();
      const closed = await within(slow.closed, 'the slow client to be closed');
      expect(closed).toEqual({ code: 1013, reason: 'client too slow' });
      const seqs = slow.received.slice(1).map(seqOf);
      expect(seqs).toEqual(Array.from({ length: published - limits.maxLaggedMessages - 1 }, (_, i) => i));

      expect(fast.received.slice(1).map(seqOf)).toEqual(Array.from({ length: published }, (_, i) => i));
      t.hub.publish('dashboard', 'after', {});
      await fast.waitFor((m) => m.type === 'after', 'a message after the slow client left');
      expect(fast.ws.readyState).toBe(WebSocket.OPEN);
    });

    it('closes a peer that stops answering heartbeat pings with 1001', async () => {
      await start();
      const alive = await connect('/ws?topics=jobs');
      const silent = await connect('/ws?topics=jobs');
      silent.ws.pause();
      for (let i = 0; i < 3; i++) {
        const pinged = new Promise((resolve) => alive.ws.once('ping', resolve));
        t.hub.tick();
        await within(pinged, 'a heartbeat ping');
        await alive.sync(); // its automatic pong reached the server before this round trip's answer
      }
      expect(t.hub.size).toBe(1);
      silent.ws.resume();
      expect(await within(silent.closed, 'the silent peer to be closed')).toEqual({ code: 1001, reason: 'heartbeat timeout' });
      t.hub.publish('jobs', 'still_alive', {});
      await alive.waitFor((m) => m.type === 'still_alive', 'a message on the live peer');
    });
  });

  describe('credentials', () => {
    it('closes the socket with 4001 when its session logs out; other sessions stay', async () => {
      await start();
      const token = await login(t.app, 'viewer1');
      const session = await connect('/ws?topics=jobs', { token, via: 'query' });
      const otherSession = await connect('/ws?topics=jobs');
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(await within(session.closed, 'the logged-out socket to close')).toEqual({ code: 4001, reason: 'credential revoked' });
      t.hub.publish('jobs', 'after_logout', {});
      await otherSession.waitFor((m) => m.type === 'after_logout', 'a message on the other session');
      expect(t.hub.size).toBe(1);
    });

    it('closes every socket of a user deactivated by an admin with 4001', async () => {
      await start();
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('viewer'), payload: { name: 'ws script' } });
      const viewerSession = await connect('/ws', { via: 'protocol' });
      const viewerToken = await connect('/ws', { token: created.json<{ token: string }>().token });
      const admin = await connect('/ws', { token: t.tokens.admin });
      const res = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${t.userIds.viewer}`, headers: t.auth('admin'), payload: { active: false } });
      expect(res.statusCode).toBe(200);
      for (const peer of [viewerSession, viewerToken]) {
        expect(await within(peer.closed, 'the deactivated user’s socket to close')).toMatchObject({ code: 4001 });
      }
      await admin.sync();
      expect(t.hub.size).toBe(1);
    });

    it('closes a socket opened with an API token when that token is revoked', async () => {
      await start();
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name: 'dashboard kiosk' } });
      expect(created.statusCode).toBe(201);
      const { id, token } = created.json<{ id: string; token: string }>();
      const byToken = await connect('/ws/dashboard/metrics', { token, via: 'query' });
      const bySession = await connect('/ws/dashboard/metrics', { token: t.tokens.operator });
      expect(byToken.welcome.payload.user).toBe('operator1');
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${id}`, headers: t.auth('operator') });
      expect(res.statusCode).toBe(200);
      expect(await within(byToken.closed, 'the revoked token’s socket to close')).toEqual({ code: 4001, reason: 'credential revoked' });
      t.hub.publish('dashboard', 'metrics', {});
      await bySession.waitFor((m) => m.type === 'metrics', 'metrics on the session socket');
    });

    it('closes the socket with 4001 once its token expired', async () => {
      const clock = manualClock();
      await start({ clock });
      const peer = await connect('/ws?topics=jobs');
      t.hub.tick();
      await peer.sync();
      expect(peer.ws.readyState).toBe(WebSocket.OPEN);
      clock.advance(t.config.jwt.expiryMs - 1_000);
      t.hub.tick();
      await peer.sync();
      clock.advance(2_000);
      t.hub.tick();
      expect(await within(peer.closed, 'the expired socket to close')).toEqual({ code: 4001, reason: 'token expired' });
      expect(t.hub.size).toBe(0);
      expect(t.config.jwt.expiryMs).toBe(24 * 3_600_000);
    });
  });

  describe('credentials ended by another process', () => {
    // The CLI (`pbfleet users reset-password`) or a second server writes to the database only:
    // no revocation event reaches this process. The heartbeat re-checks what is connected.
    const credentialOf = async (token: string) =>
      (await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).json<{ credential: { id: string } }>().credential.id;
    /** Resolves after the peer has seen `n` more heartbeat pings, i.e. `n - 1` full heartbeats. */
    const heartbeats = (peer: Peer, n: number) =>
      within(
        new Promise<void>((resolve) => {
          let seen = 0;
          const onPing = () => {
            if (++seen < n) return;
            peer.ws.off('ping', onPing);
            resolve();
          };
          peer.ws.on('ping', onPing);
        }),
        `${n} heartbeats`,
      );

    it('closes a socket with 4001 on the next heartbeat once its session was revoked in the database; others stay', async () => {
      await start({ overrides: { hub: { heartbeatInterval: '50ms' } } });
      const token = await login(t.app, 'viewer1');
      const sessionId = await credentialOf(token);
      const peer = await connect('/ws?topics=jobs', { token });
      const other = await connect('/ws?topics=jobs');
      const stream = await openSse(`/api/v1/events?topics=jobs&token=${encodeURIComponent(token)}`);
      await until(() => t.hub.size === 3, 'the stream to attach');

      // Heartbeats come and go; a live session is left alone.
      await heartbeats(peer, 4);
      await peer.sync();
      expect(peer.ws.readyState).toBe(WebSocket.OPEN);

      await t.database.db.updateTable('sessions').set({ revoked_at: new Date().toISOString() }).where('id', '=', sessionId).execute();
      expect(await within(peer.closed, 'the revoked session’s socket to close')).toEqual({ code: 4001, reason: 'credential revoked' });
      const close = await stream.waitFor((e) => e.event === 'close', 'the close event on the stream');
      expect(JSON.parse(close.data)).toEqual({ code: 4001, reason: 'credential revoked' });
      await within(stream.ended, 'the stream to end');

      await heartbeats(other, 2);
      await other.sync();
      expect(t.hub.size).toBe(1);
    });

    it('closes sockets of a deleted API token and of a user deactivated in the database', async () => {
      await start({ overrides: { hub: { heartbeatInterval: '50ms' } } });
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: t.auth('operator'), payload: { name: 'kiosk' } });
      const { id, token } = created.json<{ id: string; token: string }>();
      const byToken = await connect('/ws/dashboard/metrics', { token, via: 'query' });
      const viewer = await connect('/ws');
      const admin = await connect('/ws', { token: t.tokens.admin });
      await heartbeats(byToken, 3);
      expect(t.hub.size).toBe(3);

      await t.database.db.deleteFrom('api_tokens').where('id', '=', id).execute();
      expect(await within(byToken.closed, 'the deleted token’s socket to close')).toEqual({ code: 4001, reason: 'credential revoked' });
      await t.database.db.updateTable('users').set({ active: 0 }).where('id', '=', t.userIds.viewer).execute();
      expect(await within(viewer.closed, 'the deactivated user’s socket to close')).toEqual({ code: 4001, reason: 'credential revoked' });

      await heartbeats(admin, 2);
      await admin.sync();
      expect(t.hub.size).toBe(1);
    });

    it('checks each distinct credential once per heartbeat, in one batch', async () => {
      await start();
      const ended = vi.spyOn(t.services.auth, 'endedCredentials');
      const a = await connect('/ws?topics=jobs');
      await connect('/ws?topics=dashboard');
      await connect('/ws', { token: t.tokens.admin });
      await t.hub.revalidate(t.services.auth.endedCredentials);
      expect(ended).toHaveBeenCalledTimes(1);
      const checked = ended.mock.calls[0]?.[0] ?? [];
      expect(checked).toHaveLength(2);
      expect(new Set(checked.map((c) => c.kind))).toEqual(new Set(['session']));
      await a.sync();
      expect(t.hub.size).toBe(3);
    });
  });

  describe('connections per credential', () => {
    const capped = { overrides: { hub: { maxConnectionsPerCredential: 2 } } };

    it('closes a WebSocket past hub.maxConnectionsPerCredential with 1008 and a reason; other credentials and freed slots still get in', async () => {
      await start(capped);
      const first = await connect('/ws');
      await connect('/ws/dashboard/metrics');
      const third = new Peer(open('/ws'));
      const closed = await within(third.closed, 'the third socket to close');
      expect(closed).toEqual({ code: 1008, reason: 'too many connections with this credential (limit 2); close one first' });
      expect(third.received).toEqual([]);
      expect(t.hub.size).toBe(2);
      // Another session of the same user is another credential.
      await connect('/ws', { token: await login(t.app, 'viewer1') });
      first.ws.close();
      await until(() => t.hub.size === 2, 'the closed socket to detach');
      await connect('/ws');
    });

    it('answers an SSE stream past the limit with 429, Retry-After and the envelope; WebSocket and SSE count together', async () => {
      await start(capped);
      await connect('/ws');
      const stream = await openSse(`/api/v1/events?topics=dashboard&token=${encodeURIComponent(t.tokens.viewer)}`);
      expect(stream.res.statusCode).toBe(200);
      await until(() => t.hub.size === 2, 'the stream to attach');
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/events?topics=dashboard&token=${encodeURIComponent(t.tokens.viewer)}`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('10');
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toMatchObject({ code: 'RATE_LIMITED', message: 'too many connections with this credential (limit 2); close one first', requestId: expect.any(String) });
      const ws = new Peer(open('/ws'));
      expect((await within(ws.closed, 'the socket past the limit to close')).code).toBe(1008);
      expect(t.hub.size).toBe(2);
    });
  });

  describe('server-sent events', () => {
    it('streams published messages of the requested topics as data events', async () => {
      await start();
      const stream = await openSse(`/api/v1/events?topics=audit,dashboard&token=${encodeURIComponent(t.tokens.viewer)}`);
      expect(stream.res.statusCode).toBe(200);
      expect(stream.res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.res.headers['cache-control']).toContain('no-cache');
      await until(() => t.hub.size === 1, 'the stream to attach');

      t.hub.publish('jobs', 'not_requested', {});
      t.hub.publish('dashboard', 'metrics', { bots: 2 });
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/users', headers: t.auth('admin'), payload: { username: 'dave', password: 'a long enough secret', role: 'viewer' } });
      expect(res.statusCode).toBe(201);
      const entry = await stream.waitForMessage((m) => m.type === 'audit_entry', 'the audit entry');
      expect(entry).toMatchObject({ topic: 'audit', payload: { action: 'user_create' } });
      expect(stream.messages.map((m) => m.type)).toEqual(['metrics', 'audit_entry']);
      expect(stream.messages[0]).toEqual({ type: 'metrics', topic: 'dashboard', payload: { bots: 2 }, ts: expect.any(String) });

      t.hub.tick();
      await until(() => stream.comments.includes('ping'), 'a heartbeat comment');
    });

    it('accepts the Authorization header too', async () => {
      await start();
      const stream = await openSse('/api/v1/events?topics=job:j1', t.auth('operator'));
      expect(stream.res.statusCode).toBe(200);
      await until(() => t.hub.size === 1, 'the stream to attach');
      t.hub.publish('job:j1', 'progress', { pct: 10 });
      expect((await stream.waitForMessage((m) => m.type === 'progress', 'progress')).payload).toEqual({ pct: 10 });
    });

    it('refuses missing or unknown topics with 400 and a missing or bad token with 401', async () => {
      await start();
      const base = `http://127.0.0.1:${port}/api/v1/events`;
      const token = encodeURIComponent(t.tokens.viewer);
      for (const query of [`?token=${token}`, `?topics=&token=${token}`, `?topics=audit,bogus&token=${token}`, `?topics=job:&token=${token}`]) {
        const res = await fetch(`${base}${query}`);
        expect(res.status, query).toBe(400);
        const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
        expect(body.error, query).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.any(String), requestId: expect.any(String) });
      }
      const bogus = (await (await fetch(`${base}?topics=audit,bogus&token=${token}`)).json()) as { error: { message: string } };
      expect(bogus.error.message).toContain('bogus');

      for (const query of ['?topics=audit', '?topics=audit&token=nope']) {
        const res = await fetch(`${base}${query}`);
        expect(res.status, query).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
      expect(t.hub.size).toBe(0);
    });

    it('sends event: close and ends the stream when its credential is revoked', async () => {
      await start();
      const token = await login(t.app, 'viewer1');
      const stream = await openSse(`/api/v1/events?topics=dashboard&token=${encodeURIComponent(token)}`);
      const other = await openSse(`/api/v1/events?topics=dashboard&token=${encodeURIComponent(t.tokens.viewer)}`);
      await until(() => t.hub.size === 2, 'the streams to attach');
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      const close = await stream.waitFor((e) => e.event === 'close', 'the close event');
      expect(JSON.parse(close.data)).toEqual({ code: 4001, reason: 'credential revoked' });
      await within(stream.ended, 'the stream to end');
      expect(t.hub.size).toBe(1);

      t.hub.publish('dashboard', 'metrics', {});
      await other.waitForMessage((m) => m.type === 'metrics', 'metrics on the other stream');
    });
  });
});
