import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/** The baseline: a bare node:http server answering each path with fixed bytes. */
const [file, port] = process.argv.slice(2);
const bodies = new Map(Object.entries(JSON.parse(readFileSync(file as string, 'utf8')) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v)]));

createServer((req, res) => {
  const body = bodies.get(req.url ?? '');
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}).listen(Number(port), '127.0.0.1');
