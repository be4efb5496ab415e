import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A counter that every write worth seeing bumps. Every mutation in pbfleet writes an audit
 * entry, so the audit service bumps it: a cached list is never served after a change made by
 * this process.
 */
export class DataVersion {
  private current = 0;
  get value(): number {
    return this.current;
  }
  bump(): void {
    this.current += 1;
  }
}

/** An answer already written as JSON (in its response schema's shape): sent as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * Serialised answers of read-heavy routes (dashboards poll the audit log and user list),
 * keyed by URL. An entry is served only while the data version it was computed at is still
 * current and it is younger than `maxAgeMs`, which bounds how long a change made by another
 * process (the CLI) can go unseen. Only for routes whose answer is the same for every caller
 * allowed to call them, or that pass what it depends on as the `variant`.
 */
export class ResponseCache {
  private readonly entries = new Map<string, { version: number; at: number; body: Buffer }>();
  /** URLs asked once and not (yet) kept: an answer is kept from the second time its URL is asked. */
  private readonly askedOnce = new Set<string>();

  constructor(
    private readonly version: DataVersion,
    private readonly maxAgeMs = 1000,
    private readonly maxEntries = 500,
  ) {}

  /** `variant` names what else the answer depends on (the caller's role, when it filters the answer). */
  async reply(request: FastifyRequest, reply: FastifyReply, compute: () => Promise<unknown>, variant = ''): Promise<FastifyReply> {
    const now = Date.now();
    const key = variant ? `${variant}\u0000${request.url}` : request.url;
    const hit = this.entries.get(key);
    void reply.type('application/json; charset=utf-8');
    if (hit && hit.version === this.version.value && now - hit.at < this.maxAgeMs) return reply.send(hit.body);
    // Read the version before the query: a write that lands during it makes this entry stale.
    const version = this.version.value;
    const result = await compute();
    const serialized = result instanceof JsonText ? result.text : reply.serialize(result);
    // A URL asked once (a filter that changes with every request) is not worth a copy and the
    // memory, and would push out the answers polled again and again.
    if (!hit && !this.askedOnce.has(key)) {
      if (this.askedOnce.size >= this.maxEntries) this.askedOnce.delete(this.askedOnce.values().next().value as string);
      this.askedOnce.add(key);
      return reply.send(serialized);
    }
    this.askedOnce.delete(key);
    // Kept as bytes: a hit is then written without encoding the JSON again.
    const body = typeof serialized === 'string' ? Buffer.from(serialized) : Buffer.from(serialized as ArrayBuffer);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { version, at: now, body });
    return reply.send(body);
  }
}
