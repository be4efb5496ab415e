import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { testDatabases } from './helpers/databases.js';

describe('connection timeouts', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('closes a connection that trickles its headers once server.readTimeout has passed (not Node’s 60 s)', async () => {
    t = await createTestApp(testDatabases[0] as (typeof testDatabases)[number], { overrides: { server: { readTimeout: '1s' } } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    const startedAt = Date.now();
    socket.write('GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n');
    // A header byte every 200 ms: the socket is never idle, the headers never end.
    const drip = setInterval(() => socket.write('x'), 200);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('close', () => resolve());
        socket.once('error', () => resolve());
        setTimeout(() => reject(new Error('connection still open after 8 s')), 8000).unref();
      });
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(8000);
    if (answer) expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 20_000);
});
