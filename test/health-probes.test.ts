import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetGuard } from '../src/lib/net-guard.js';
import { httpProbe, statusMatches, tcpProbe } from '../src/modules/health/probes.js';
import { closedPort, startHttpTargets } from './helpers/http-targets.js';

describe('health probes against local servers', () => {
  let targets: Awaited<ReturnType<typeof startHttpTargets>>;
  const guard = createNetGuard(['127.0.0.0/8']);
  const spec = (path: string, extra: Partial<Parameters<typeof httpProbe>[0]> = {}) => ({
    url: `${targets.base}${path}`,
    method: 'GET',
    headers: {},
    timeoutMs: 1000,
    ...extra,
  });

  beforeAll(async () => {
    targets = await startHttpTargets();
  });
  afterAll(async () => {
    await targets.close();
  });

  it('a 200 is healthy, a 500 is not', async () => {
    await expect(httpProbe(spec('/ok'), guard)).resolves.toMatchObject({ ok: true, statusCode: 200 });
    await expect(httpProbe(spec('/fail'), guard)).resolves.toMatchObject({ ok: false, statusCode: 500, message: 'HTTP 500 (expected 2xx)' });
  });

  it('validates status lists, JSON regex and body regex', async () => {
    await expect(httpProbe(spec('/fail', { validation: { type: 'statusCode', value: '500-503' } }), guard)).resolves.toMatchObject({ ok: true });
    await expect(httpProbe(spec('/ok', { validation: { type: 'jsonRegex', value: '"status":\\s*"ok"' } }), guard)).resolves.toMatchObject({ ok: true });
    await expect(httpProbe(spec('/ok', { validation: { type: 'jsonRegex', value: '"status":"down"' } }), guard)).resolves.toMatchObject({ ok: false });
    await expect(httpProbe(spec('/text', { validation: { type: 'jsonRegex', value: 'good' } }), guard)).resolves.toMatchObject({ ok: false, message: 'body is not JSON' });
    await expect(httpProbe(spec('/text', { validation: { type: 'bodyRegex', value: 'all good' } }), guard)).resolves.toMatchObject({ ok: true });
  });

  it('sends the configured method and headers', async () => {
    const result = await httpProbe(spec('/echo-method', { method: 'HEAD' }), guard);
    expect(result.ok).toBe(true);
    await expect(httpProbe(spec('/echo-method', { headers: { 'x-probe': 'yes' }, validation: { type: 'jsonRegex', value: '"header":"yes"' } }), guard)).resolves.toMatchObject({ ok: true });
  });

  it('a slow answer within the timeout is fine and its time is measured', async () => {
    const result = await httpProbe(spec('/slow?ms=200'), guard);
    expect(result.ok).toBe(true);
    expect(result.responseTimeMs).toBeGreaterThanOrEqual(190);
  });

  it('a server that never answers fails at the timeout', async () => {
    const result = await httpProbe(spec('/hang', { timeoutMs: 300 }), guard);
    expect(result).toMatchObject({ ok: false, message: 'no answer within 300 ms' });
    expect(result.responseTimeMs).toBeLessThan(1500);
  });

  it('follows redirects and stops a redirect loop after 10', async () => {
    await expect(httpProbe(spec('/redirect'), guard)).resolves.toMatchObject({ ok: true, statusCode: 200 });
    const before = targets.hits.get('/loop') ?? 0;
    await expect(httpProbe(spec('/loop'), guard)).resolves.toMatchObject({ ok: false, message: 'more than 10 redirects' });
    expect((targets.hits.get('/loop') ?? 0) - before).toBe(11);
  });

  it('reads at most 1 MB of a 10 MB body', async () => {
    const memoryBefore = process.memoryUsage().rss;
    await expect(httpProbe(spec('/big', { validation: { type: 'jsonRegex', value: 'x' } }), guard)).resolves.toMatchObject({ ok: false, message: 'body is larger than 1 MB; cannot check it as JSON' });
    await expect(httpProbe(spec('/big', { validation: { type: 'bodyRegex', value: '^a+' } }), guard)).resolves.toMatchObject({ ok: true });
    expect(process.memoryUsage().rss - memoryBefore).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses a closed port, a redirect to the metadata address, and loopback when not allowed', async () => {
    const port = await closedPort();
    await expect(httpProbe({ ...spec('/ok'), url: `http://127.0.0.1:${port}/` }, guard)).resolves.toMatchObject({ ok: false, message: 'connection refused' });
    await expect(httpProbe(spec('/to-metadata'), guard)).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/never allowed/) });
    await expect(httpProbe(spec('/ok'), createNetGuard([]))).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/allow it in network.allowTargets/) });
    await expect(httpProbe({ ...spec('/ok'), url: `http://localhost:${targets.port}/ok` }, createNetGuard([]))).resolves.toMatchObject({ ok: false });
  });

  it('tcp: open port healthy, closed port refused', async () => {
    await expect(tcpProbe('127.0.0.1', targets.port, 500, guard)).resolves.toMatchObject({ ok: true });
    await expect(tcpProbe('127.0.0.1', await closedPort(), 500, guard)).resolves.toMatchObject({ ok: false, message: 'connection refused' });
    await expect(tcpProbe('169.254.169.254', 80, 500, guard)).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/never allowed/) });
  });

  it('parses status lists', () => {
    expect(statusMatches('200', 200)).toBe(true);
    expect(statusMatches('200-299,301', 301)).toBe(true);
    expect(statusMatches('200-299', 404)).toBe(false);
  });
});
