import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthCheckConfig, HealthStatus } from '../src/modules/environments/environments.types.js';
import type { Publisher } from '../src/modules/hub/hub.js';
import { HealthRecorder } from '../src/modules/health/health-recorder.js';
import { HealthScheduler, type HealthSubject } from '../src/modules/health/health-scheduler.js';
import { initialStatus, type CheckOutcome } from '../src/modules/health/health.fns.js';
import type { HealthSample, StatusUpdate } from '../src/modules/health/health.repo.js';
import type { AuditInput } from '../src/modules/audit/audit.service.js';
import { HostKeyMismatchError } from '../src/modules/ssh/ssh.errors.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
/** Under fake timers Date is the fake clock. */
const clock = { now: () => new Date() };
const elapsed = () => Date.now() - T0.getTime();

const check = (extra: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({ enabled: true, type: 'http', interval: 10, timeout: 5, retries: 2, ...extra });
const subject = (id: string, extra: Partial<HealthCheckConfig> = {}): HealthSubject => ({ id, name: `vps-${id}`, healthCheck: check(extra), status: initialStatus() });
const ok = (ms = 50): CheckOutcome => ({ ok: true, responseTimeMs: ms, message: 'HTTP 200' });
const fail = (message = 'connection refused'): CheckOutcome => ({ ok: false, responseTimeMs: 3, message });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Behaviour = (s: HealthSubject, signal: AbortSignal) => Promise<CheckOutcome>;

/** A scheduler whose checks are scripted per environment, counting concurrency. */
function harness(options: { workers?: number; random?: () => number; behaviour?: Behaviour; onResult?: (s: HealthSubject, status: HealthStatus, prev: HealthStatus) => void } = {}) {
  const calls: { id: string; at: number; signal: AbortSignal }[] = [];
  const results: { id: string; status: HealthStatus; previous: HealthStatus; at: number }[] = [];
  const errors: unknown[] = [];
  const perEnv = new Map<string, number>();
  let active = 0;
  const peak = { total: 0, perEnv: 0 };
  const behaviours = new Map<string, Behaviour>();
  const fallback: Behaviour = options.behaviour ?? (async () => (await sleep(10), ok()));
  const scheduler = new HealthScheduler({
    workers: options.workers ?? 10,
    clock,
    degradedThresholdMs: 2000,
    random: options.random ?? (() => 0),
    runCheck: async (s, signal) => {
      calls.push({ id: s.id, at: elapsed(), signal });
      active += 1;
      const mine = (perEnv.get(s.id) ?? 0) + 1;
      perEnv.set(s.id, mine);
      peak.total = Math.max(peak.total, active);
      peak.perEnv = Math.max(peak.perEnv, mine);
      try {
        return await (behaviours.get(s.id) ?? fallback)(s, signal);
      } finally {
        active -= 1;
        perEnv.set(s.id, (perEnv.get(s.id) ?? 1) - 1);
      }
    },
    onResult: (s, status, previous) => {
      results.push({ id: s.id, status, previous, at: elapsed() });
      options.onResult?.(s, status, previous);
    },
    onError: (error) => errors.push(error),
  });
  const script = (id: string, outcomes: CheckOutcome[]) => {
    let i = 0;
    behaviours.set(id, async () => outcomes[Math.min(i++, outcomes.length - 1)] as CheckOutcome);
  };
  return { scheduler, calls, results, errors, peak, behaviours, script, callsOf: (id: string) => calls.filter((c) => c.id === id) };
}

describe('health scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries=2: healthy -> pending -> pending -> unhealthy, one check per interval', async () => {
    const h = harness();
    h.script('a', [ok(), fail(), fail(), fail(), ok()]);
    h.scheduler.upsert(subject('a'));
    h.scheduler.start();
    await advance(40_001);
    expect(h.results.map((r) => r.status.health)).toEqual(['healthy', 'pending', 'pending', 'unhealthy', 'healthy']);
    expect(h.results.map((r) => r.previous.health)).toEqual(['unknown', 'healthy', 'pending', 'pending', 'unhealthy']);
    expect(h.calls.map((c) => c.at)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
    expect(h.scheduler.status('a')?.health).toBe('healthy');
    h.scheduler.stop();
  });

  it('retries=0 flips to unhealthy at the first failure; slow successes are degraded', async () => {
    const h = harness();
    h.script('a', [ok(), fail()]);
    h.script('b', [ok(2500), ok(100)]);
    h.scheduler.upsert(subject('a', { retries: 0 }));
    h.scheduler.upsert(subject('b'));
    h.scheduler.start();
    await advance(10_001);
    expect(h.results.filter((r) => r.id === 'a').map((r) => r.status.health)).toEqual(['healthy', 'unhealthy']);
    expect(h.results.filter((r) => r.id === 'b').map((r) => r.status.health)).toEqual(['degraded', 'healthy']);
    h.scheduler.stop();
  });

  it('keeps the cadence whatever the check takes', async () => {
    const h = harness({ behaviour: async () => (await sleep(3000), ok()) });
    h.scheduler.upsert(subject('a'));
    h.scheduler.start();
    await advance(50_000);
    expect(h.calls.map((c) => c.at)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(h.scheduler.stats().latenessMs.max).toBe(0);
    h.scheduler.stop();
  });

  it('never runs two checks of one environment at once: runNow waits for the running one', async () => {
    const h = harness();
    const gate = deferred<CheckOutcome>();
    h.behaviours.set('a', () => gate.promise);
    h.scheduler.upsert(subject('a', { interval: 5, timeout: 60 }));
    h.scheduler.start();
    await advance(30_000); // six intervals pass while the first check hangs
    expect(h.calls).toHaveLength(1);

    let manual: HealthStatus | undefined;
    const pending = h.scheduler.runNow('a').then((s) => (manual = s));
    await advance(100);
    expect(h.calls).toHaveLength(1);
    expect(manual).toBeUndefined();

    h.behaviours.set('a', async () => (await sleep(10), fail('HTTP 503')));
    gate.resolve(ok());
    await advance(20);
    await pending;
    expect(h.calls).toHaveLength(2);
    expect(h.peak.perEnv).toBe(1);
    expect(manual).toMatchObject({ health: 'pending', message: 'HTTP 503', consecutiveFailures: 1 });
    expect(h.results.map((r) => r.status.health)).toEqual(['healthy', 'pending']);
    h.scheduler.stop();
  });

  it('runNow goes ahead of due checks waiting for a worker', async () => {
    const h = harness({ workers: 1, behaviour: async () => (await sleep(1000), ok()) });
    for (const id of ['a', 'b', 'c', 'd']) h.scheduler.upsert(subject(id, { interval: 60 }));
    h.scheduler.start();
    await advance(1);
    const manual = h.scheduler.runNow('d');
    const order = () => h.calls.map((c) => c.id);
    await advance(1000);
    expect(order()).toEqual(['a', 'd']);
    await advance(1000);
    await expect(manual).resolves.toMatchObject({ health: 'healthy' });
    await advance(5000);
    expect(order()).toEqual(['a', 'd', 'b', 'c']);
    h.scheduler.stop();
  });

  it('respects the worker bound and queues due checks in order, measuring lateness', async () => {
    const h = harness({ workers: 3, behaviour: async () => (await sleep(1000), ok()) });
    for (let i = 0; i < 20; i++) h.scheduler.upsert(subject(`e${String(i).padStart(2, '0')}`, { interval: 60 }));
    h.scheduler.start();
    await advance(0);
    expect(h.scheduler.stats()).toMatchObject({ scheduled: 20, running: 3, queued: 17, checksDone: 0 });
    await advance(7000);
    expect(h.peak.total).toBe(3);
    expect(h.results).toHaveLength(20);
    expect(h.calls.map((c) => c.id)).toEqual([...h.calls.map((c) => c.id)].sort());
    const stats = h.scheduler.stats();
    expect(stats).toMatchObject({ running: 0, queued: 0, checksDone: 20 });
    expect(stats.latenessMs.max).toBe(6000);
    expect(stats.latenessMs.p50).toBe(3000);
    h.scheduler.stop();
  });

  it('spreads first runs over the interval with jitter', async () => {
    let n = 0;
    const h = harness({ random: () => (n++ % 10) / 10 });
    for (let i = 0; i < 10; i++) h.scheduler.upsert(subject(`e${i}`, { interval: 100 }));
    h.scheduler.start();
    await advance(100_000 - 1);
    expect(h.calls.map((c) => c.at)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000]);

    const spread = harness({ random: Math.random });
    for (let i = 0; i < 50; i++) spread.scheduler.upsert(subject(`e${i}`, { interval: 60 }));
    spread.scheduler.start();
    await advance(60_000);
    const starts = spread.calls.filter((c) => c.at >= 100_000 - 1).map((c) => c.at);
    expect(new Set(starts).size).toBeGreaterThan(40);
    h.scheduler.stop();
    spread.scheduler.stop();
  });

  it('removal stops checks at once and discards a result that arrives later', async () => {
    const h = harness({ workers: 1 });
    const gate = deferred<CheckOutcome>();
    h.behaviours.set('a', () => gate.promise);
    h.scheduler.upsert(subject('a', { timeout: 60 }));
    h.scheduler.upsert(subject('b'));
    h.scheduler.upsert(subject('c'));
    h.scheduler.start();
    await advance(1);
    expect(h.calls.map((c) => c.id)).toEqual(['a']);
    const manual = h.scheduler.runNow('a');
    h.scheduler.remove('c'); // queued behind a: never runs
    h.scheduler.remove('a');
    await expect(manual).rejects.toThrow(/stopped/);
    expect(h.calls[0]?.signal.aborted).toBe(true);
    gate.resolve(fail());
    await advance(60_000);
    expect(h.results.some((r) => r.id === 'a' || r.id === 'c')).toBe(false);
    expect(h.callsOf('a')).toHaveLength(1);
    expect(h.callsOf('c')).toHaveLength(0);
    expect(h.callsOf('b').length).toBeGreaterThan(1); // the freed worker went on
    await expect(h.scheduler.runNow('a')).rejects.toThrow(/not enabled/);
    h.scheduler.stop();
  });

  it('does not schedule disabled checks or type none, and disabling stops one', async () => {
    const h = harness();
    h.scheduler.upsert(subject('off', { enabled: false }));
    h.scheduler.upsert(subject('none', { type: 'none' }));
    h.scheduler.upsert(subject('on'));
    h.scheduler.start();
    await advance(25_000);
    expect(new Set(h.calls.map((c) => c.id))).toEqual(new Set(['on']));
    expect(h.scheduler.stats().scheduled).toBe(1);
    await expect(h.scheduler.runNow('off')).rejects.toThrow(/not enabled/);

    h.scheduler.upsert(subject('on', { enabled: false }));
    const before = h.calls.length;
    await advance(60_000);
    expect(h.calls).toHaveLength(before);
    expect(h.scheduler.stats().scheduled).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cuts a hung check at its timeout and frees the worker', async () => {
    const h = harness({ workers: 1 });
    h.behaviours.set('hung', () => new Promise<CheckOutcome>(() => undefined));
    h.scheduler.upsert(subject('hung', { timeout: 2, retries: 0, interval: 60 }));
    h.scheduler.upsert(subject('next', { interval: 60 }));
    h.scheduler.start();
    await advance(1999);
    expect(h.results).toHaveLength(0);
    expect(h.callsOf('next')).toHaveLength(0);
    await advance(1);
    expect(h.results[0]).toMatchObject({ id: 'hung', status: { health: 'unhealthy', message: 'no answer within 2000 ms', responseTime: 2000 } });
    expect(h.callsOf('hung')[0]?.signal.aborted).toBe(true);
    await advance(20);
    expect(h.results.map((r) => r.id)).toEqual(['hung', 'next']);
    h.scheduler.stop();
  });

  it('turns a thrown error into a failure and a host key mismatch into its state', async () => {
    const h = harness();
    h.behaviours.set('a', async () => {
      throw new Error('socket hang up');
    });
    h.behaviours.set('b', async () => {
      throw new HostKeyMismatchError('b', 'SHA256:old', 'SHA256:new');
    });
    h.scheduler.upsert(subject('a'));
    h.scheduler.upsert(subject('b'));
    h.scheduler.start();
    await advance(1);
    expect(h.scheduler.status('a')).toMatchObject({ health: 'pending', message: 'socket hang up' });
    expect(h.scheduler.status('b')).toMatchObject({ health: 'host_key_mismatch' });
    h.scheduler.stop();
  });

  it('a throwing onResult is reported and the checks go on', async () => {
    const h = harness({
      onResult: () => {
        throw new Error('listener broke');
      },
    });
    h.scheduler.upsert(subject('a'));
    h.scheduler.start();
    await advance(20_010);
    expect(h.calls).toHaveLength(3);
    expect(h.errors).toHaveLength(3);
    h.scheduler.stop();
  });

  it('a config change keeps the status; a rename does not reschedule', async () => {
    const h = harness();
    h.script('a', [fail()]);
    h.scheduler.upsert(subject('a', { interval: 10 }));
    h.scheduler.start();
    await advance(1);
    expect(h.scheduler.status('a')).toMatchObject({ health: 'pending', consecutiveFailures: 1 });

    h.scheduler.upsert({ ...subject('a', { interval: 10 }), name: 'renamed' });
    await advance(10_000);
    expect(h.calls.map((c) => c.at)).toEqual([0, 10_000]);

    h.scheduler.upsert({ ...subject('a', { interval: 30, retries: 1 }), status: initialStatus() });
    expect(h.scheduler.status('a')).toMatchObject({ consecutiveFailures: 2 });
    await advance(1);
    expect(h.results.at(-1)?.status.health).toBe('unhealthy'); // 3 failures > 1 retry, counted across the change
    h.scheduler.stop();
  });

  it('a check of a config that changed meanwhile is discarded and rerun with the new one', async () => {
    const h = harness();
    const gate = deferred<CheckOutcome>();
    h.behaviours.set('a', () => gate.promise);
    h.scheduler.upsert(subject('a', { endpoint: 'http://old', timeout: 60 }));
    h.scheduler.start();
    await advance(1);
    const manual = h.scheduler.runNow('a');
    h.scheduler.upsert(subject('a', { endpoint: 'http://new', timeout: 60 }));
    h.behaviours.set('a', async (s) => ({ ...ok(), message: String(s.healthCheck.endpoint) }));
    gate.resolve({ ...ok(), message: 'old' });
    await expect(manual).resolves.toMatchObject({ message: 'http://new' });
    expect(h.results.map((r) => r.status.message)).toEqual(['http://new']);
    h.scheduler.stop();
  });

  it('stop() abandons checks and leaves no timer; start() resumes', async () => {
    const h = harness();
    h.behaviours.set('a', () => new Promise<CheckOutcome>(() => undefined));
    h.scheduler.upsert(subject('a', { timeout: 30 }));
    h.scheduler.upsert(subject('b', { interval: 3600 }));
    h.scheduler.start();
    await advance(20);
    expect(h.scheduler.status('b')?.health).toBe('healthy');
    const manual = h.scheduler.runNow('a');
    h.scheduler.stop();
    await expect(manual).rejects.toThrow(/stopped/);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0 });
    h.behaviours.set('a', async () => ok());
    h.scheduler.start();
    await advance(1);
    expect(h.scheduler.status('a')?.health).toBe('healthy');
    h.scheduler.stop();
  });
});

/** A repository double: each write may be slowed down or made to fail. */
function fakeRepo() {
  const written: { samples: HealthSample[]; statuses: StatusUpdate[] }[] = [];
  const state = { delayMs: 0, failing: false, writes: 0 };
  return {
    written,
    state,
    samples: () => written.flatMap((w) => w.samples),
    repo: {
      writeBatch: async (batch: { samples: readonly HealthSample[]; statuses: readonly StatusUpdate[] }) => {
        state.writes += 1;
        if (state.delayMs) await sleep(state.delayMs);
        if (state.failing) throw new Error('database is down');
        written.push({ samples: [...batch.samples], statuses: [...batch.statuses] });
      },
      rollupHour: async () => 0,
      purge: async () => ({ samples: 0, hourly: 0 }),
      lastRolledHour: async () => null,
      oldestSampleTs: async () => null,
    },
  };
}

function fakeLog() {
  const lines: { level: string; obj: unknown; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg: string) => void lines.push({ level, obj, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function fakePublisher() {
  const messages: { topic: string; type: string; payload: unknown }[] = [];
  const publisher: Publisher = { publish: (topic, type, payload) => void messages.push({ topic, type, payload }) };
  return { messages, publisher };
}

describe('scheduler with the recorder', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(repoState: Partial<ReturnType<typeof fakeRepo>['state']> = {}, recorderOptions: { maxBufferedSamples?: number; maxBatchSamples?: number } = {}) {
    const db = fakeRepo();
    Object.assign(db.state, repoState);
    const hub = fakePublisher();
    const audits: AuditInput[] = [];
    const { lines, log } = fakeLog();
    const recorder = new HealthRecorder({
      repo: db.repo,
      publisher: hub.publisher,
      audit: { record: async (input) => void audits.push(input) },
      clock,
      log,
      sampleRetentionMs: 48 * 3_600_000,
      hourlyRetentionDays: 90,
      flushIntervalMs: 1000,
      ...recorderOptions,
    });
    const h = harness({ onResult: (s, status, previous) => recorder.record(s, status, previous) });
    return { db, hub, audits, lines, recorder, h };
  }

  it('publishes every result on the hub and audits only changes', async () => {
    const { h, hub, audits, recorder, db } = setup();
    h.script('a', [ok(), ok(), fail('connection refused'), fail('connection refused'), fail('connection refused'), ok()]);
    h.scheduler.upsert(subject('a'));
    recorder.start();
    h.scheduler.start();
    await advance(51_000);
    expect(hub.messages).toHaveLength(12);
    expect(hub.messages.filter((m) => m.topic === 'environments')).toHaveLength(6);
    expect(hub.messages.filter((m) => m.topic === 'environment:a')).toHaveLength(6);
    expect(hub.messages.every((m) => m.type === 'health')).toBe(true);
    expect(hub.messages[0]?.payload).toEqual({ environmentId: 'a', status: h.results[0]?.status });
    expect(audits.map((a) => a.message)).toEqual([
      'vps-a: unknown -> healthy (HTTP 200)',
      'vps-a: healthy -> pending (connection refused)',
      'vps-a: pending -> unhealthy (connection refused)',
      'vps-a: unhealthy -> healthy (HTTP 200)',
    ]);
    expect(audits.map((a) => a.level)).toEqual(['success', 'warning', 'error', 'success']);
    expect(audits[2]).toMatchObject({ type: 'health_check', action: 'health_change', environmentId: 'a', environmentName: 'vps-a' });
    expect(db.samples()).toHaveLength(6);
    // One write per flush, holding only each environment's latest status.
    expect(db.written.every((w) => w.statuses.length <= 1)).toBe(true);
    h.scheduler.stop();
    await recorder.stop();
  });

  it('a database that takes seconds delays neither checks nor statuses', async () => {
    const { h, hub, db, recorder } = setup({ delayMs: 8000 });
    h.script('a', [ok(), fail(), fail(), fail(), ok()]);
    h.scheduler.upsert(subject('a', { interval: 5 }));
    recorder.start();
    h.scheduler.start();
    await advance(20_001);
    expect(h.calls.map((c) => c.at)).toEqual([0, 5000, 10_000, 15_000, 20_000]);
    expect(h.scheduler.stats().latenessMs.max).toBe(0);
    expect(hub.messages.filter((m) => m.topic === 'environments').map((m) => (m.payload as { status: HealthStatus }).status.health)).toEqual([
      'healthy',
      'pending',
      'pending',
      'unhealthy',
      'healthy',
    ]);
    expect(db.state.writes).toBeLessThanOrEqual(3); // never two writes at once
    db.state.delayMs = 0;
    h.scheduler.stop();
    await advance(20_000);
    await recorder.stop();
    expect(db.samples().map((s) => s.health)).toEqual(['healthy', 'pending', 'pending', 'unhealthy', 'healthy']);
    expect(db.written.at(-1)?.statuses).toEqual([{ id: 'a', status: h.scheduler.status('a') }]);
  });

  it('a failing database: checks go on, the buffer is bounded, writing resumes with the latest status', async () => {
    const { h, db, lines, recorder, hub } = setup({ failing: true }, { maxBufferedSamples: 10 });
    for (const id of ['a', 'b']) h.scheduler.upsert(subject(id, { interval: 5 }));
    recorder.start();
    h.scheduler.start();
    await advance(60_010); // 13 checks each, 26 results
    expect(h.results).toHaveLength(26);
    expect(hub.messages).toHaveLength(52);
    expect(recorder.stats()).toMatchObject({ bufferedSamples: 10, bufferedStatuses: 2, droppedSamples: 16 });
    expect(lines.some((l) => l.level === 'warn' && /dropped/.test(l.msg))).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1); // not once a second

    db.state.failing = false;
    await advance(1000);
    expect(db.samples()).toHaveLength(10);
    const latest = db.samples().slice(-2);
    expect(latest.map((s) => s.ts)).toEqual([h.scheduler.status('a')?.lastCheck, h.scheduler.status('b')?.lastCheck]);
    expect(latest[0]?.ts).toBe(new Date(T0.getTime() + 60_010).toISOString());
    expect(db.written[0]?.statuses.map((s) => s.status)).toEqual([h.scheduler.status('a'), h.scheduler.status('b')]);
    expect(lines.some((l) => l.level === 'info' && /written again/.test(l.msg))).toBe(true);
    h.scheduler.stop();
    await recorder.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drains a backlog in bounded batches; stop() gives up on a hung database after its timeout', async () => {
    const { db, recorder, lines } = setup({ failing: true }, { maxBatchSamples: 4 });
    for (let i = 0; i < 10; i++) recorder.record({ id: 'a', name: 'vps-a' }, { ...initialStatus(), health: 'healthy', lastCheck: new Date(T0.getTime() + i).toISOString() }, initialStatus());
    recorder.start();
    await advance(1000);
    expect(recorder.stats()).toMatchObject({ bufferedSamples: 10, failedFlushes: 1 });
    db.state.failing = false;
    await advance(1000);
    expect(db.written.map((w) => w.samples.length)).toEqual([4]);
    await advance(2000);
    expect(db.written.map((w) => w.samples.length)).toEqual([4, 4, 2]);
    expect(db.samples().map((s) => s.ts)).toEqual([...db.samples().map((s) => s.ts)].sort());

    recorder.record({ id: 'a', name: 'vps-a' }, { ...initialStatus(), health: 'pending' }, { ...initialStatus(), health: 'healthy' });
    db.state.delayMs = 3_600_000;
    const stopping = recorder.stop(5000);
    await advance(5000);
    await stopping;
    expect(lines.some((l) => l.level === 'error' && /before shutdown/.test(l.msg))).toBe(true);
  });
});
