import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CredentialRef, Principal } from '../auth/auth.types.js';
import { CLOSE, Hub, type HubMessage, type Transport } from './hub.js';
import { MAX_TOPICS_PER_CLIENT } from './topics.js';
import { originAllowed, sseTransport, webSocketTransport } from './transports.js';

/** A peer whose send buffer the test sets by hand. */
class FakeTransport implements Transport {
  readonly written: string[] = [];
  buffered = 0;
  alive = true;
  closes: { code: number; reason: string }[] = [];

  bufferedBytes(): number {
    return this.buffered;
  }
  write(text: string): void {
    this.written.push(text);
  }
  heartbeat(): boolean {
    return this.alive;
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  get messages(): HubMessage[] {
    return this.written.map((text) => JSON.parse(text) as HubMessage);
  }
}

function fixedClock(start = '2026-03-01T12:00:00.000Z') {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

let nextCredential = 1;
function principal(overrides: Partial<Principal> = {}): Principal {
  return { userId: 'u1', username: 'alice', role: 'viewer', kind: 'session', credentialId: `c${nextCredential++}`, expiresAt: null, ...overrides };
}

function makeHub(options: { maxBufferedBytes?: number; maxLaggedMessages?: number } = {}) {
  const clock = fixedClock();
  const hub = new Hub({ clock, maxBufferedBytes: options.maxBufferedBytes ?? 1000, maxLaggedMessages: options.maxLaggedMessages ?? 10 });
  const connect = (topics: string[] = [], p: Principal = principal()) => {
    const transport = new FakeTransport();
    const client = hub.attach(p, transport);
    hub.subscribe(client, topics);
    return { transport, client };
  };
  return { hub, clock, connect };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Hub fan-out', () => {
  it('delivers a published message to the subscribers of its topic only, as {type, topic, payload, ts}', () => {
    const { hub, connect } = makeHub();
    const a = connect(['jobs']);
    const b = connect(['jobs', 'dashboard']);
    const c = connect(['dashboard']);
    const idle = connect();

    hub.publish('jobs', 'job_updated', { id: 'j1', status: 'running' });

    const expected = { type: 'job_updated', topic: 'jobs', payload: { id: 'j1', status: 'running' }, ts: '2026-03-01T12:00:00.000Z' };
    expect(a.transport.messages).toEqual([expected]);
    expect(b.transport.messages).toEqual([expected]);
    expect(c.transport.written).toEqual([]);
    expect(idle.transport.written).toEqual([]);

    hub.publish('dashboard', 'metrics', { n: 1 });
    hub.publish('environments', 'nobody_listens', {});
    expect(a.transport.written).toHaveLength(1);
    expect(b.transport.messages.map((m) => m.type)).toEqual(['job_updated', 'metrics']);
    expect(c.transport.messages.map((m) => m.type)).toEqual(['metrics']);
  });

  it('keeps publish order per client', () => {
    const { hub, connect } = makeHub();
    const a = connect(['dashboard']);
    for (let i = 0; i < 50; i++) hub.publish('dashboard', 'tick', { i });
    expect(a.transport.messages.map((m) => (m.payload as { i: number }).i)).toEqual([...Array(50).keys()]);
  });

  it('accepts only known topics and says why the others are refused', () => {
    const { hub, connect } = makeHub();
    const { client } = connect();
    const result = hub.subscribe(client, [
      'environments',
      'audit',
      'instance:bot-1',
      'instance:bot_1:logs',
      'job:abc',
      'operation:X9',
      'nope',
      'job:',
      'audit:1',
      'instance:a b',
      `job:${'x'.repeat(65)}`,
      'instance:bot-1:stdout',
    ]);
    expect(result.accepted).toEqual(['environments', 'audit', 'instance:bot-1', 'instance:bot_1:logs', 'job:abc', 'operation:X9']);
    expect(result.rejected).toEqual(
      ['nope', 'job:', 'audit:1', 'instance:a b', `job:${'x'.repeat(65)}`, 'instance:bot-1:stdout'].map((topic) => ({ topic, reason: 'unknown topic' })),
    );
    expect([...client.topics].sort()).toEqual([...result.accepted].sort());

    // A refused topic receives nothing even if someone publishes on it.
    const { transport } = connect(['nope']);
    hub.publish('nope', 'x', {});
    expect(transport.written).toEqual([]);
  });

  it(`caps each client at ${MAX_TOPICS_PER_CLIENT} topics; re-subscribing a held topic still works`, () => {
    const { hub, connect } = makeHub();
    const { client } = connect();
    const many = Array.from({ length: MAX_TOPICS_PER_CLIENT }, (_, i) => `job:j${i}`);
    expect(hub.subscribe(client, many).rejected).toEqual([]);
    expect(hub.subscribe(client, ['job:one-more', 'job:j0'])).toEqual({ accepted: ['job:j0'], rejected: [{ topic: 'job:one-more', reason: 'too many topics' }] });
    expect(client.topics.size).toBe(MAX_TOPICS_PER_CLIENT);
  });

  it('stops delivering a topic after unsubscribe, and everything after detach', () => {
    const { hub, connect } = makeHub();
    const a = connect(['jobs', 'dashboard']);
    const b = connect(['jobs']);
    hub.unsubscribe(a.client, ['jobs', 'not-subscribed']);
    hub.publish('jobs', 'j', {});
    hub.publish('dashboard', 'd', {});
    expect(a.transport.messages.map((m) => m.type)).toEqual(['d']);
    expect(b.transport.messages.map((m) => m.type)).toEqual(['j']);

    expect(hub.size).toBe(2);
    hub.detach(a.client);
    hub.detach(a.client);
    expect(hub.size).toBe(1);
    expect(a.client.closed).toBe(true);
    hub.publish('dashboard', 'd2', {});
    hub.publish('jobs', 'j2', {});
    expect(a.transport.messages.map((m) => m.type)).toEqual(['d']);
    expect(b.transport.messages.map((m) => m.type)).toEqual(['j', 'j2']);
  });

  it('send() addresses one client with a null topic', () => {
    const { hub, connect } = makeHub();
    const a = connect(['jobs']);
    const b = connect(['jobs']);
    hub.send(a.client, 'pong', {});
    expect(a.transport.messages).toEqual([{ type: 'pong', topic: null, payload: {}, ts: '2026-03-01T12:00:00.000Z' }]);
    expect(b.transport.written).toEqual([]);
  });
});

describe('Hub slow clients', () => {
  it('skips a client whose buffer is over the limit, never slowing the others, then tells it how many it missed', () => {
    const { hub, connect } = makeHub({ maxBufferedBytes: 1000, maxLaggedMessages: 10 });
    const fast = connect(['dashboard']);
    const slow = connect(['dashboard']);

    hub.publish('dashboard', 'm', { i: 0 });
    slow.transport.buffered = 1001;
    for (let i = 1; i <= 4; i++) hub.publish('dashboard', 'm', { i });
    hub.send(slow.client, 'pong', {});
    expect(slow.transport.messages.map((m) => m.payload)).toEqual([{ i: 0 }]);
    expect(slow.client.skipped).toBe(5);
    expect(fast.transport.messages.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));

    // Drained: the next message is preceded by a `lagged` notice with the count.
    slow.transport.buffered = 0;
    hub.publish('dashboard', 'm', { i: 5 });
    expect(slow.transport.messages.slice(1)).toEqual([
      { type: 'lagged', topic: null, payload: { skipped: 5 }, ts: '2026-03-01T12:00:00.000Z' },
      { type: 'm', topic: 'dashboard', payload: { i: 5 }, ts: '2026-03-01T12:00:00.000Z' },
    ]);
    expect(slow.client.skipped).toBe(0);
    expect(slow.transport.closes).toEqual([]);
  });

  it('flushes the lag notice on the heartbeat once the buffer drained, without waiting for a message', () => {
    const { hub, connect } = makeHub();
    const slow = connect(['dashboard']);
    slow.transport.buffered = 5000;
    hub.publish('dashboard', 'm', {});
    hub.publish('dashboard', 'm', {});
    hub.tick();
    expect(slow.transport.written).toEqual([]);
    slow.transport.buffered = 10;
    hub.tick();
    expect(slow.transport.messages).toEqual([{ type: 'lagged', topic: null, payload: { skipped: 2 }, ts: expect.any(String) }]);
    hub.tick();
    expect(slow.transport.written).toHaveLength(1);
  });

  it('closes a client with 1013 once it misses more than maxLaggedMessages in a row', () => {
    const { hub, connect } = makeHub({ maxBufferedBytes: 1000, maxLaggedMessages: 3 });
    const fast = connect(['jobs']);
    const slow = connect(['jobs']);
    slow.transport.buffered = 2000;
    for (let i = 0; i < 3; i++) hub.publish('jobs', 'm', { i });
    expect(slow.transport.closes).toEqual([]);
    hub.publish('jobs', 'm', { i: 3 });
    expect(slow.transport.closes).toEqual([{ code: CLOSE.tryAgainLater, reason: 'client too slow' }]);
    expect(CLOSE.tryAgainLater).toBe(1013);
    expect(hub.size).toBe(1);

    slow.transport.buffered = 0;
    hub.publish('jobs', 'm', { i: 4 });
    expect(slow.transport.written).toEqual([]);
    expect(slow.transport.closes).toHaveLength(1);
    expect(fast.transport.messages.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
  });

  it('resets the miss count when the client catches up, so only consecutive misses count', () => {
    const { hub, connect } = makeHub({ maxLaggedMessages: 3 });
    const slow = connect(['jobs']);
    for (let round = 0; round < 3; round++) {
      slow.transport.buffered = 2000;
      for (let i = 0; i < 3; i++) hub.publish('jobs', 'm', {});
      slow.transport.buffered = 0;
      hub.publish('jobs', 'm', {});
    }
    expect(slow.transport.closes).toEqual([]);
    expect(slow.transport.messages.filter((m) => m.type === 'lagged').map((m) => m.payload)).toEqual([{ skipped: 3 }, { skipped: 3 }, { skipped: 3 }]);
  });
});

describe('Hub credentials and liveness', () => {
  it('revoke closes exactly the sockets opened with that credential, with 4001', () => {
    const { hub, connect } = makeHub();
    const session = connect([], principal({ userId: 'u1', kind: 'session', credentialId: 's1' }));
    const otherSession = connect([], principal({ userId: 'u1', kind: 'session', credentialId: 's2' }));
    const token = connect([], principal({ userId: 'u1', kind: 'api_token', credentialId: 't1' }));
    // Same id, other kind: a session id never matches an API token revocation.
    const lookalike = connect([], principal({ userId: 'u2', kind: 'session', credentialId: 't1' }));
    const bob = connect([], principal({ userId: 'u2', username: 'bob', kind: 'session', credentialId: 's3' }));

    hub.revoke({ kind: 'session', id: 's1' });
    expect(session.transport.closes).toEqual([{ code: 4001, reason: 'credential revoked' }]);
    expect(otherSession.transport.closes).toEqual([]);

    hub.revoke({ kind: 'api_token', id: 't1' });
    expect(token.transport.closes).toEqual([{ code: CLOSE.credentialRevoked, reason: 'credential revoked' }]);
    expect(lookalike.transport.closes).toEqual([]);
    expect(hub.size).toBe(3);

    hub.revoke({ kind: 'user', userId: 'u2' });
    expect(lookalike.transport.closes).toHaveLength(1);
    expect(bob.transport.closes).toHaveLength(1);
    expect(otherSession.transport.closes).toEqual([]);
    expect(hub.size).toBe(1);
  });

  it('the heartbeat closes expired credentials with 4001 and keeps the rest', () => {
    const { hub, clock, connect } = makeHub();
    const start = clock.now().getTime();
    const short = connect(['jobs'], principal({ expiresAt: new Date(start + 60_000).toISOString() }));
    const long = connect(['jobs'], principal({ expiresAt: new Date(start + 3_600_000).toISOString() }));
    const never = connect(['jobs'], principal({ kind: 'api_token', expiresAt: null }));

    hub.tick();
    expect(short.transport.closes).toEqual([]);
    clock.advance(60_000);
    hub.tick();
    expect(short.transport.closes).toEqual([{ code: 4001, reason: 'token expired' }]);
    expect(long.transport.closes).toEqual([]);
    clock.advance(100 * 86_400_000);
    hub.tick();
    expect(long.transport.closes).toEqual([{ code: 4001, reason: 'token expired' }]);
    expect(never.transport.closes).toEqual([]);
    expect(hub.size).toBe(1);
  });

  it('closes a credential at its expiry even between heartbeats, and forgets the timer on detach', () => {
    vi.useFakeTimers();
    const { hub, clock, connect } = makeHub();
    const expiresAt = new Date(clock.now().getTime() + 5_000).toISOString();
    const a = connect([], principal({ expiresAt }));
    const b = connect([], principal({ expiresAt }));
    hub.detach(b.client);
    vi.advanceTimersByTime(4_999);
    expect(a.transport.closes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(a.transport.closes).toEqual([{ code: 4001, reason: 'token expired' }]);
    expect(b.transport.closes).toEqual([]);
    expect(hub.size).toBe(0);
  });

  it('closes a peer whose heartbeat fails with 1001', () => {
    const { hub, connect } = makeHub();
    const dead = connect(['jobs']);
    const alive = connect(['jobs']);
    dead.transport.alive = false;
    hub.tick();
    expect(dead.transport.closes).toEqual([{ code: CLOSE.goingAway, reason: 'heartbeat timeout' }]);
    expect(alive.transport.closes).toEqual([]);
    hub.publish('jobs', 'm', {});
    expect(dead.transport.written).toEqual([]);
  });

  it('revalidate asks about each distinct credential once and closes those that ended with 4001', async () => {
    const { hub, connect } = makeHub();
    const s1 = principal({ kind: 'session', credentialId: 's1' });
    const a = connect(['jobs'], s1);
    const b = connect(['dashboard'], s1);
    const token = connect([], principal({ kind: 'api_token', credentialId: 't1' }));
    // Same id, other kind: the session t1 is not the API token t1.
    const lookalike = connect([], principal({ kind: 'session', credentialId: 't1' }));
    const asked: CredentialRef[][] = [];

    await hub.revalidate(async (credentials) => {
      asked.push([...credentials]);
      return [];
    });
    expect(asked).toEqual([[{ kind: 'session', id: 's1' }, { kind: 'api_token', id: 't1' }, { kind: 'session', id: 't1' }]]);
    expect(hub.size).toBe(4);

    await hub.revalidate(async () => [{ kind: 'session', id: 's1' }, { kind: 'api_token', id: 't1' }]);
    for (const ended of [a, b, token]) expect(ended.transport.closes).toEqual([{ code: CLOSE.credentialRevoked, reason: 'credential revoked' }]);
    expect(lookalike.transport.closes).toEqual([]);
    expect(hub.size).toBe(1);
  });

  it('revalidate does not ask with no clients, and a failed check closes nobody', async () => {
    const { hub, connect } = makeHub();
    const ask = vi.fn(async () => [] as CredentialRef[]);
    await hub.revalidate(ask);
    expect(ask).not.toHaveBeenCalled();
    const a = connect(['jobs']);
    await expect(hub.revalidate(async () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    expect(a.transport.closes).toEqual([]);
    expect(hub.size).toBe(1);
  });

  it('close is idempotent and closeAll closes everyone once', () => {
    const { hub, connect } = makeHub();
    const a = connect(['jobs']);
    const b = connect(['dashboard']);
    hub.close(a.client, 4001, 'x');
    hub.close(a.client, 4001, 'x');
    hub.closeAll(CLOSE.goingAway, 'server shutting down');
    expect(a.transport.closes).toEqual([{ code: 4001, reason: 'x' }]);
    expect(b.transport.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
    expect(hub.size).toBe(0);
  });
});

/** Enough of a `ws` WebSocket for webSocketTransport. */
class FakeSocket extends EventEmitter {
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  pings = 0;
  closeFrames: { code: number; reason: string }[] = [];
  terminated = false;
  send(text: string): void {
    this.sent.push(text);
  }
  ping(): void {
    this.pings += 1;
  }
  close(code: number, reason: string): void {
    this.closeFrames.push({ code, reason });
    this.readyState = 2;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
}

describe('WebSocket transport heartbeat', () => {
  it('pings every heartbeat and closes a peer that missed a pong with 1001', () => {
    const { hub } = makeHub();
    const responsive = new FakeSocket();
    const silent = new FakeSocket();
    hub.subscribe(hub.attach(principal(), webSocketTransport(responsive as unknown as WebSocket)), ['jobs']);
    hub.subscribe(hub.attach(principal(), webSocketTransport(silent as unknown as WebSocket)), ['jobs']);

    for (let i = 0; i < 3; i++) {
      hub.tick();
      responsive.emit('pong');
    }
    expect(responsive.pings).toBe(3);
    expect(silent.pings).toBe(1);
    expect(silent.closeFrames).toEqual([{ code: 1001, reason: 'heartbeat timeout' }]);
    expect(responsive.closeFrames).toEqual([]);
    expect(hub.size).toBe(1);

    hub.publish('jobs', 'm', {});
    expect(responsive.sent).toHaveLength(1);
    expect(silent.sent).toHaveLength(0);
  });

  it('cuts off a peer that ignores the close handshake after a grace period', () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const transport = webSocketTransport(socket as unknown as WebSocket);
    transport.close(4001, 'credential revoked');
    expect(socket.closeFrames).toEqual([{ code: 4001, reason: 'credential revoked' }]);
    vi.advanceTimersByTime(4_999);
    expect(socket.terminated).toBe(false);
    vi.advanceTimersByTime(1);
    expect(socket.terminated).toBe(true);
  });

  it('reports the socket buffer as its buffered bytes', () => {
    const socket = new FakeSocket();
    socket.bufferedAmount = 1234;
    expect(webSocketTransport(socket as unknown as WebSocket).bufferedBytes()).toBe(1234);
  });
});

describe('SSE transport', () => {
  function fakeResponse() {
    const res = {
      chunks: [] as string[],
      writableLength: 0,
      destroyed: false,
      writableEnded: false,
      write(chunk: string) {
        res.chunks.push(chunk);
        return true;
      },
      end() {
        res.writableEnded = true;
      },
    };
    return res;
  }

  it('writes data events, heartbeat comments, and a close event before ending', () => {
    const res = fakeResponse();
    const transport = sseTransport(res as unknown as ServerResponse);
    transport.write('{"type":"x"}');
    expect(transport.heartbeat()).toBe(true);
    transport.close(4001, 'credential revoked');
    transport.close(4001, 'credential revoked');
    expect(res.chunks).toEqual(['data: {"type":"x"}\n\n', ': ping\n\n', 'event: close\ndata: {"code":4001,"reason":"credential revoked"}\n\n']);
    expect(res.writableEnded).toBe(true);
    expect(transport.heartbeat()).toBe(false);
  });
});

describe('originAllowed', () => {
  it('allows no Origin, listed origins, * and the same host; refuses others', () => {
    expect(originAllowed(undefined, 'fleet.local:8080', [])).toBe(true);
    expect(originAllowed('https://ok.example', 'fleet.local', ['https://ok.example'])).toBe(true);
    expect(originAllowed('https://any.example', 'fleet.local', ['*'])).toBe(true);
    expect(originAllowed('http://fleet.local:8080', 'fleet.local:8080', [])).toBe(true);
    expect(originAllowed('https://evil.example', 'fleet.local', ['https://ok.example'])).toBe(false);
    expect(originAllowed('http://fleet.local:9999', 'fleet.local:8080', [])).toBe(false);
    expect(originAllowed('null', 'fleet.local', [])).toBe(false);
  });
});
