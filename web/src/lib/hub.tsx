/**
 * One WebSocket per tab to /ws (the session cookie authenticates it). Components subscribe to
 * topics through hooks; the connection subscribes to the union, resubscribes after a
 * reconnect (with backoff), and sends the browser to sign-in when the server closes it 4001
 * (session revoked or expired). Nothing polls: pages invalidate their queries on messages.
 */
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useEffectEvent, useMemo, useSyncExternalStore, type ReactNode } from 'react';

export type HubStatus = 'connected' | 'connecting' | 'reconnecting';
export type HubMessage = { type: string; topic: string; payload: unknown; ts: string };
type Handler = (m: HubMessage) => void;

const CLOSE_CREDENTIAL_ENDED = 4001;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export class HubConnection {
  private socket: WebSocket | null = null;
  private status: HubStatus = 'connecting';
  private readonly statusListeners = new Set<() => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private everConnected = false;

  /** What happens when the server ends the session (set by HubProvider). */
  private onExpired: () => void = () => undefined;

  setOnExpired(handler: () => void): void {
    this.onExpired = handler;
  }

  /**
   * Whether the session still holds, asked when a connection attempt fails before opening: a
   * refused upgrade (401) looks like any network failure to a browser.
   */
  private async sessionEnded(): Promise<boolean> {
    try {
      const res = await fetch('/api/v1/auth/me', { credentials: 'same-origin', cache: 'no-store' });
      return res.status === 401;
    } catch {
      return false;
    }
  }

  getStatus = (): HubStatus => this.status;

  onStatus = (listener: () => void): (() => void) => {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  };

  /** Called after a reconnect: messages may have been missed, so callers refetch. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempts = 0;
    this.everConnected = false;
    this.setStatus('connecting');
    this.open();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'signed out');
  }

  subscribe(topics: readonly string[], handler: Handler): () => void {
    const added: string[] = [];
    for (const topic of topics) {
      let set = this.handlers.get(topic);
      if (!set) {
        set = new Set();
        this.handlers.set(topic, set);
        added.push(topic);
      }
      set.add(handler);
    }
    if (added.length) this.send({ type: 'subscribe', topics: added });
    return () => {
      const removed: string[] = [];
      for (const topic of topics) {
        const set = this.handlers.get(topic);
        if (!set) continue;
        set.delete(handler);
        if (set.size === 0) {
          this.handlers.delete(topic);
          removed.push(topic);
        }
      }
      if (removed.length) this.send({ type: 'unsubscribe', topics: removed });
    };
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private setStatus(status: HubStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.statusListeners.forEach((l) => l());
  }

  private open(): void {
    const url = new URL('/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.attempts = 0;
      const topics = [...this.handlers.keys()];
      if (topics.length) this.send({ type: 'subscribe', topics });
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.setStatus('connected');
      if (reconnected) this.reconnectListeners.forEach((l) => l());
    };
    socket.onmessage = (event: MessageEvent<unknown>) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      let message: HubMessage;
      try {
        message = JSON.parse(event.data) as HubMessage;
      } catch {
        return;
      }
      if (!message.topic) return;
      this.handlers.get(message.topic)?.forEach((h) => h(message));
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.running) return;
      if (event.code === CLOSE_CREDENTIAL_ENDED) {
        this.running = false;
        this.onExpired();
        return;
      }
      this.setStatus(this.everConnected ? 'reconnecting' : 'connecting');
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
      this.attempts++;
      this.timer = setTimeout(() => {
        if (!this.running) return;
        if (opened) return this.open();
        void this.sessionEnded().then((ended) => {
          if (!this.running) return;
          if (!ended) return this.open();
          this.running = false;
          this.onExpired();
        });
      }, delay);
    };
  }
}

const HubContext = createContext<HubConnection | null>(null);

export function HubProvider({ onExpired, children }: { onExpired: () => void; children: ReactNode }) {
  const hub = useMemo(() => new HubConnection(), []);
  useEffect(() => {
    hub.setOnExpired(onExpired);
  }, [hub, onExpired]);
  return <HubContext value={hub}>{children}</HubContext>;
}

export function useHub(): HubConnection {
  const hub = useContext(HubContext);
  if (!hub) throw new Error('useHub outside HubProvider');
  return hub;
}

/** Keeps the tab's connection open while the calling component (the signed-in shell) is mounted. */
export function useHubConnection(): void {
  const hub = useHub();
  useEffect(() => {
    hub.start();
    return () => hub.stop();
  }, [hub]);
}

export function useHubStatus(): HubStatus {
  const hub = useHub();
  return useSyncExternalStore(hub.onStatus, hub.getStatus);
}

/** Calls onMessage for every message of these topics while mounted. */
export function useHubTopic(topics: string[], onMessage: (m: HubMessage) => void): void {
  const hub = useHub();
  const handle = useEffectEvent(onMessage);
  const key = topics.join('\n');
  useEffect(() => {
    const list = key ? key.split('\n') : [];
    if (!list.length) return;
    return hub.subscribe(list, (m) => handle(m));
  }, [hub, key]);
}

/**
 * Invalidates these queries on any message of these topics (and after a reconnect), at most every 250 ms.
 * `ignoreTypes`: messages that change nothing the queries hold (a running operation's output).
 */
export function useLiveInvalidate(topics: string[], queryKeys: QueryKey[], { ignoreTypes = [] }: { ignoreTypes?: readonly string[] } = {}): void {
  const hub = useHub();
  const queryClient = useQueryClient();
  const topicKey = topics.join('\n');
  const keysKey = JSON.stringify(queryKeys);
  const ignoreKey = ignoreTypes.join('\n');
  useEffect(() => {
    const ignored = new Set(ignoreKey ? ignoreKey.split('\n') : []);
    const keys = JSON.parse(keysKey) as QueryKey[];
    const list = topicKey ? topicKey.split('\n') : [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const invalidate = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
      }, 250);
    };
    const unsubscribe = list.length ? hub.subscribe(list, (m) => {
          if (!ignored.has(m.type)) invalidate();
        }) : () => undefined;
    const offReconnect = hub.onReconnect(invalidate);
    return () => {
      clearTimeout(timer);
      unsubscribe();
      offReconnect();
    };
  }, [hub, queryClient, topicKey, keysKey, ignoreKey]);
}

/** After a reconnect messages may have been missed: refetch this key. */
export function useRefetchOnReconnect(queryClient: QueryClient, queryKey: readonly unknown[]): void {
  const hub = useHub();
  const key = JSON.stringify(queryKey);
  useEffect(() => hub.onReconnect(() => void queryClient.invalidateQueries({ queryKey: JSON.parse(key) as unknown[] })), [hub, queryClient, key]);
}
