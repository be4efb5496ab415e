import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect, isIP } from 'node:net';
import type { NetGuard } from '../../lib/net-guard.js';
import { describeSocketError } from '../../lib/net-errors.js';
import { safeTest } from '../../lib/safe-regex.js';

export interface ProbeResult {
  ok: boolean;
  responseTimeMs: number;
  message: string;
  statusCode?: number;
}

export type HttpValidation = { type: 'statusCode'; value: string } | { type: 'jsonRegex'; value: string } | { type: 'bodyRegex'; value: string };

export interface HttpProbeSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  timeoutMs: number;
  validation?: HttpValidation | undefined;
}

export const MAX_REDIRECTS = 10;
export const MAX_BODY_BYTES = 1024 * 1024;

/** `200`, `200-299`, `200,204,301-302`: whether a status code matches such a list. */
export function statusMatches(spec: string, status: number): boolean {
  return spec.split(',').some((part) => {
    const [low, high] = part.trim().split('-').map(Number);
    if (low === undefined || Number.isNaN(low)) return false;
    return high === undefined ? status === low : status >= low && status <= high;
  });
}

/** Whether a status list spec is well-formed (used by validation before saving). */
export const isStatusSpec = (spec: string): boolean => /^\s*\d{3}(\s*-\s*\d{3})?(\s*,\s*\d{3}(\s*-\s*\d{3})?)*\s*$/.test(spec);

export interface Fetched {
  status: number;
  body: string;
  truncated: boolean;
}

/**
 * One HTTP check: follows up to 10 redirects (each hop through the SSRF guard), reads at most
 * 1 MB of body, and gives up at the deadline. Never throws: failures are results.
 */
export async function httpProbe(spec: HttpProbeSpec, guard: NetGuard): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = AbortSignal.timeout(spec.timeoutMs);
  try {
    let url = new URL(spec.url);
    let method = spec.method.toUpperCase();
    for (let hop = 0; ; hop++) {
      const response = await fetchOnce(url, method, spec.headers, guard, deadline);
      if (response.status >= 300 && response.status < 400 && response.location !== undefined) {
        if (hop >= MAX_REDIRECTS) return { ok: false, responseTimeMs: elapsed(), message: `more than ${MAX_REDIRECTS} redirects`, statusCode: response.status };
        url = new URL(response.location, url);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) method = 'GET';
        continue;
      }
      return { ...judge(spec.validation, response), responseTimeMs: elapsed(), statusCode: response.status };
    }
  } catch (error) {
    return { ok: false, responseTimeMs: elapsed(), message: describeNetError(error, spec.timeoutMs) };
  }
}

function judge(validation: HttpValidation | undefined, response: Fetched): { ok: boolean; message: string } {
  const status = response.status;
  if (!validation) return status >= 200 && status < 300 ? { ok: true, message: `HTTP ${status}` } : { ok: false, message: `HTTP ${status} (expected 2xx)` };
  if (validation.type === 'statusCode') {
    return statusMatches(validation.value, status) ? { ok: true, message: `HTTP ${status}` } : { ok: false, message: `HTTP ${status} (expected ${validation.value})` };
  }
  if (status < 200 || status >= 300) return { ok: false, message: `HTTP ${status} (expected 2xx)` };
  if (validation.type === 'jsonRegex') {
    try {
      JSON.parse(response.body);
    } catch {
      return { ok: false, message: response.truncated ? 'body is larger than 1 MB; cannot check it as JSON' : 'body is not JSON' };
    }
  }
  try {
    return safeTest(validation.value, response.body) ? { ok: true, message: `HTTP ${status}, body matches` } : { ok: false, message: `HTTP ${status}, body does not match ${validation.value}` };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * Connections are kept alive and reused between checks, as monitors do: thousands of checks
 * then cost no TCP handshakes. New connections still resolve through the guard's lookup.
 */
const agents = new WeakMap<NetGuard, { http: HttpAgent; https: HttpsAgent }>();
function agentsFor(guard: NetGuard): { http: HttpAgent; https: HttpsAgent } {
  let pair = agents.get(guard);
  if (!pair) {
    const options = { keepAlive: true, keepAliveMsecs: 15_000, maxFreeSockets: 64, timeout: 60_000, scheduling: 'lifo' as const };
    pair = { http: new HttpAgent(options), https: new HttpsAgent(options) };
    agents.set(guard, pair);
  }
  return pair;
}

/** One guarded HTTP request (no redirects followed): used by checks and by HTTP commands. */
export function fetchOnce(url: URL, method: string, headers: Record<string, string>, guard: NetGuard, signal: AbortSignal, body?: string): Promise<Fetched & { location?: string }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Node skips `lookup` for IP literals, so those are checked here.
  if (isIP(host)) guard.check(host);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const agent = agentsFor(guard)[url.protocol === 'https:' ? 'https' : 'http'];
    const req = send(url, { method, headers: { 'user-agent': 'pbfleet-health/1', ...headers }, lookup: guard.lookup, signal, agent }, (res: IncomingMessage) => {
      const location = res.headers.location;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (size + chunk.length > MAX_BODY_BYTES) {
          chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
          size = MAX_BODY_BYTES;
          truncated = true;
          res.destroy();
          finish();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), truncated, ...(location !== undefined && { location }) });
      };
      res.on('end', finish);
      res.on('error', (err) => (done ? undefined : reject(err)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A TCP connect check. */
export function tcpProbe(host: string, port: number, timeoutMs: number, guard: NetGuard): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    try {
      if (isIP(host)) guard.check(host);
    } catch (error) {
      resolve({ ok: false, responseTimeMs: 0, message: (error as Error).message });
      return;
    }
    const socket = connect({ host, port, lookup: guard.lookup, timeout: timeoutMs });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true, responseTimeMs: elapsed(), message: `TCP ${port} open` }));
    socket.once('timeout', () => done({ ok: false, responseTimeMs: elapsed(), message: `no answer within ${timeoutMs} ms` }));
    socket.once('error', (error) => done({ ok: false, responseTimeMs: elapsed(), message: describeNetError(error, timeoutMs) }));
  });
}

export function describeNetError(error: unknown, timeoutMs: number): string {
  const err = error as NodeJS.ErrnoException;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.code === 'ABORT_ERR') return `no answer within ${timeoutMs} ms`;
  const known = describeSocketError(err.code);
  if (known) return known;
  // The SSRF guard's refusal already says why.
  if (err.code === 'ETARGETNOTALLOWED') return err.message;
  if (/certificate|self.signed|SSL|TLS/i.test(err.message)) return `TLS error: ${err.message}`;
  return err.message || 'request failed';
}
