import type { Clock } from '../../lib/clock.js';
import type { CredentialRef, Principal, Revocation } from '../auth/auth.types.js';
import { MAX_TOPICS_PER_CLIENT, isValidTopic } from './topics.js';

export interface HubMessage {
  type: string;
  topic: string | null;
  payload: unknown;
  ts: string;
}

/** Who may receive one message of a topic everyone may subscribe to (auth entries of `audit`). */
export type Audience = (principal: Principal) => boolean;

/** What services see of the hub. */
export interface Publisher {
  /** `audience`, when given, limits this message to the subscribers it accepts. */
  publish(topic: string, type: string, payload: unknown, audience?: Audience): void;
}

/**
 * A serialised message shared by every subscriber: each wire form is encoded once, however
 * many clients get it (a flooding bot's log batch goes to a hundred viewers).
 */
export class Frame {
  private utf8Bytes: Buffer | undefined;
  private sseBytes: Buffer | undefined;

  constructor(readonly text: string) {}

  utf8(): Buffer {
    return (this.utf8Bytes ??= Buffer.from(this.text, 'utf8'));
  }

  sse(): Buffer {
    return (this.sseBytes ??= Buffer.from(`data: ${this.text}\n\n`, 'utf8'));
  }
}

/** A connected peer, whatever the transport (WebSocket, SSE). */
export interface Transport {
  /** Bytes accepted for sending but not yet written to the network. */
  bufferedBytes(): number;
  /** `frame`, when given, is the same message pre-encoded and shared with other clients. */
  write(text: string, frame?: Frame): void;
  /** Liveness probe, called every heartbeat; false means the peer is gone. */
  heartbeat(): boolean;
  close(code: number, reason: string): void;
}

export const CLOSE = { goingAway: 1001, policyViolation: 1008, tryAgainLater: 1013, credentialRevoked: 4001 } as const;

/** Of the credentials given, the ones that stopped working. */
export type FindEndedCredentials = (credentials: readonly CredentialRef[]) => Promise<readonly CredentialRef[]>;

export interface HubOptions {
  clock: Clock;
  maxBufferedBytes: number;
  /** A client that misses more messages than this in a row is closed with 1013. */
  maxLaggedMessages: number;
  /** Connections (WebSocket and SSE together) one session or API token may hold at once; no limit when absent. */
  maxConnectionsPerCredential?: number;
}

const credentialKey = (principal: Principal) => `${principal.kind}:${principal.credentialId}`;

export class HubClient {
  readonly topics = new Set<string>();
  skipped = 0;
  closed = false;
  /**
   * Per-client view of published messages (a log stream filtered by text or level): returns
   * the payload to send, or undefined to send nothing. Clients without one share one
   * serialisation.
   */
  filter: ((topic: string, type: string, payload: unknown) => unknown) | undefined;
  expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly principal: Principal,
    readonly transport: Transport,
  ) {}
}

/**
 * Topic fan-out with bounded per-client buffers. A message is serialised once; each client
 * gets it only while its transport buffer is under the limit, otherwise it is skipped and the
 * client later receives a `lagged` notice with the count. Nothing here waits on a client, so
 * one slow peer never slows the others or grows the server's memory.
 */
export class Hub implements Publisher {
  private readonly byTopic = new Map<string, Set<HubClient>>();
  private readonly clients = new Set<HubClient>();
  /** Open connections by credential (credentialKey), for maxConnectionsPerCredential. */
  private readonly perCredential = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly options: HubOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /** The refusal of one more connection with this credential (a reason to show), or undefined while it stays within the limit. */
  refusal(principal: Principal): string | undefined {
    const limit = this.options.maxConnectionsPerCredential;
    if (limit === undefined || (this.perCredential.get(credentialKey(principal)) ?? 0) < limit) return undefined;
    return `too many connections with this credential (limit ${limit}); close one first`;
  }

  /** Callers ask refusal() first: the transport decides how a refused peer is told. */
  attach(principal: Principal, transport: Transport): HubClient {
    const client = new HubClient(this.nextId++, principal, transport);
    this.clients.add(client);
    const key = credentialKey(principal);
    this.perCredential.set(key, (this.perCredential.get(key) ?? 0) + 1);
    if (principal.expiresAt) {
      const ms = Date.parse(principal.expiresAt) - this.options.clock.now().getTime();
      // setTimeout holds at most ~24.8 days; a longer expiry is re-checked by the heartbeat.
      if (ms < 2 ** 31 - 1) {
        client.expiryTimer = setTimeout(() => this.close(client, CLOSE.credentialRevoked, 'token expired'), Math.max(0, ms));
        client.expiryTimer.unref();
      }
    }
    return client;
  }

  detach(client: HubClient): void {
    if (!this.clients.delete(client)) return;
    client.closed = true;
    const key = credentialKey(client.principal);
    const open = (this.perCredential.get(key) ?? 1) - 1;
    if (open > 0) this.perCredential.set(key, open);
    else this.perCredential.delete(key);
    clearTimeout(client.expiryTimer);
    for (const topic of client.topics) this.removeFromTopic(client, topic);
    client.topics.clear();
  }

  /** Returns the topics that were refused, with why. */
  subscribe(client: HubClient, requested: readonly string[]): { accepted: string[]; rejected: { topic: string; reason: string }[] } {
    const accepted: string[] = [];
    const rejected: { topic: string; reason: string }[] = [];
    for (const topic of requested) {
      if (!isValidTopic(topic)) rejected.push({ topic, reason: 'unknown topic' });
      else if (!client.topics.has(topic) && client.topics.size >= MAX_TOPICS_PER_CLIENT) rejected.push({ topic, reason: 'too many topics' });
      else {
        client.topics.add(topic);
        let set = this.byTopic.get(topic);
        if (!set) this.byTopic.set(topic, (set = new Set()));
        set.add(client);
        accepted.push(topic);
      }
    }
    return { accepted, rejected };
  }

  unsubscribe(client: HubClient, topics: readonly string[]): void {
    for (const topic of topics) {
      if (client.topics.delete(topic)) this.removeFromTopic(client, topic);
    }
  }

  publish(topic: string, type: string, payload: unknown, audience?: Audience): void {
    const subscribers = this.byTopic.get(topic);
    if (!subscribers || subscribers.size === 0) return;
    const ts = this.options.clock.now().toISOString();
    let shared: Frame | undefined;
    for (const client of subscribers) {
      if (audience && !audience(client.principal)) continue;
      if (client.filter) {
        const own = client.filter(topic, type, payload);
        if (own !== undefined) this.deliver(client, JSON.stringify({ type, topic, payload: own, ts } satisfies HubMessage));
      } else {
        shared ??= new Frame(JSON.stringify({ type, topic, payload, ts } satisfies HubMessage));
        this.deliver(client, shared.text, shared);
      }
    }
  }

  /** Sends to one client (acks, pongs), under the same bound as published messages. */
  send(client: HubClient, type: string, payload: unknown, topic: string | null = null): void {
    this.deliver(client, JSON.stringify({ type, topic, payload, ts: this.options.clock.now().toISOString() } satisfies HubMessage));
  }

  /** Closes every connection opened with a credential that stopped working. */
  revoke(revocation: Revocation): void {
    for (const client of this.clients) {
      const p = client.principal;
      const hit =
        revocation.kind === 'user' ? p.userId === revocation.userId : p.kind === revocation.kind && p.credentialId === revocation.id;
      if (hit) this.close(client, CLOSE.credentialRevoked, 'credential revoked');
    }
  }

  /** Heartbeat: probes every peer, closes dead ones and expired credentials, flushes lag notices. */
  tick(): void {
    const now = this.options.clock.now().getTime();
    for (const client of this.clients) {
      if (client.principal.expiresAt && Date.parse(client.principal.expiresAt) <= now) {
        this.close(client, CLOSE.credentialRevoked, 'token expired');
      } else if (!client.transport.heartbeat()) {
        this.close(client, CLOSE.goingAway, 'heartbeat timeout');
      } else if (client.skipped > 0 && client.transport.bufferedBytes() <= this.options.maxBufferedBytes) {
        this.flushLag(client);
      }
    }
  }

  /**
   * Asks `findEnded` about each distinct credential of the connected clients, once, and closes
   * (4001) the connections of those that stopped working. Revocations in this process arrive
   * through `revoke` at once; this catches the others (the CLI, a second server), at the next
   * heartbeat. When the check fails, nothing is closed.
   */
  async revalidate(findEnded: FindEndedCredentials): Promise<void> {
    const distinct = new Map<string, CredentialRef>();
    for (const { principal } of this.clients) distinct.set(`${principal.kind}:${principal.credentialId}`, { kind: principal.kind, id: principal.credentialId });
    if (distinct.size === 0) return;
    for (const ended of await findEnded([...distinct.values()])) this.revoke(ended);
  }

  closeAll(code: number, reason: string): void {
    for (const client of [...this.clients]) this.close(client, code, reason);
  }

  close(client: HubClient, code: number, reason: string): void {
    if (client.closed) return;
    this.detach(client);
    client.transport.close(code, reason);
  }

  private deliver(client: HubClient, text: string, frame?: Frame): void {
    if (client.closed) return;
    if (client.transport.bufferedBytes() > this.options.maxBufferedBytes) {
      client.skipped += 1;
      if (client.skipped > this.options.maxLaggedMessages) this.close(client, CLOSE.tryAgainLater, 'client too slow');
      return;
    }
    if (client.skipped > 0) this.flushLag(client);
    client.transport.write(text, frame);
  }

  private flushLag(client: HubClient): void {
    const skipped = client.skipped;
    client.skipped = 0;
    client.transport.write(JSON.stringify({ type: 'lagged', topic: null, payload: { skipped }, ts: this.options.clock.now().toISOString() }));
  }

  private removeFromTopic(client: HubClient, topic: string): void {
    const set = this.byTopic.get(topic);
    set?.delete(client);
    if (set?.size === 0) this.byTopic.delete(topic);
  }
}
