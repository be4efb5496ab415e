import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local HTTP targets for health checks: each path behaves like a server in trouble.
 * Loopback only.
 */
export async function startHttpTargets(): Promise<{ base: string; port: number; hits: Map<string, number>; close(): Promise<void> }> {
  const hits = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    switch (url.pathname) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","version":"1.2.3"}');
        return;
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('all good here');
        return;
      case '/fail':
        res.writeHead(500).end('{"status":"down"}');
        return;
      case '/slow':
        setTimeout(() => res.writeHead(200).end('{"status":"ok"}'), Number(url.searchParams.get('ms') ?? 300));
        return;
      case '/hang':
        hanging.add(res);
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/redirect':
        res.writeHead(301, { location: '/ok' }).end();
        return;
      case '/big': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < 10 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        res.on('close', () => (sent = Infinity));
        return;
      }
      case '/echo-method':
        res.writeHead(200).end(JSON.stringify({ method: req.method, header: req.headers['x-probe'] ?? null }));
        return;
      case '/to-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
