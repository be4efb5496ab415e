import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { Transport } from './hub.js';

/** A peer that ignores a close handshake this long is cut off. */
const CLOSE_GRACE_MS = 5000;

export function webSocketTransport(socket: WebSocket): Transport {
  let alive = true;
  socket.on('pong', () => {
    alive = true;
  });
  return {
    bufferedBytes: () => socket.bufferedAmount,
    // A shared frame's bytes go out as a text frame without another UTF-8 encoding.
    write: (text, frame) => (frame ? socket.send(frame.utf8(), { binary: false }) : socket.send(text)),
    heartbeat: () => {
      if (!alive) return false;
      alive = false;
      socket.ping();
      return true;
    },
    close: (code, reason) => {
      if (socket.readyState === socket.CLOSED) return;
      socket.close(code, reason);
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
    },
  };
}

/** Server-Sent Events: each hub message is one `data:` event; heartbeats are comments. */
export function sseTransport(res: ServerResponse): Transport {
  return {
    bufferedBytes: () => res.writableLength,
    write: (text, frame) => {
      res.write(frame ? frame.sse() : `data: ${text}\n\n`);
    },
    heartbeat: () => {
      if (res.destroyed || res.writableEnded) return false;
      res.write(': ping\n\n');
      return true;
    },
    close: (code, reason) => {
      if (res.writableEnded) return;
      res.write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
      res.end();
    },
  };
}

/** Browsers send Origin on WebSocket and EventSource requests; others do not. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowOrigins: readonly string[]): boolean {
  if (!origin) return true;
  if (allowOrigins.includes('*') || allowOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
