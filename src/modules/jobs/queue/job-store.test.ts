import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJobStore, jobEvent, toPublicJob } from './job-store.js';
import type { JobsRepo } from '../jobs.repo.js';
import type { JobProgress, JobRecord, JobState } from '../jobs.types.js';

const record: JobRecord = {
  id: 'j1',
  type: 'backtest',
  name: 'btc',
  params: { config: { bot: {} }, overrides: {}, effective: { bot: {} } },
  environmentId: 'local',
  status: 'running',
  priority: 0,
  slots: 1,
  progress: { fraction: 0.5, stage: 'simulating', etaSeconds: null },
  requeueOnInterrupt: false,
  attempts: 1,
  runner: 'server',
  error: null,
  logPath: '/data/jobs/j1/job.log',
  requestedBy: 'ops',
  createdAt: '2026-03-01T12:00:00.000Z',
  startedAt: '2026-03-01T12:00:01.000Z',
  finishedAt: null,
  result: { adg: 0.001 },
  pid: 4242,
  processStart: '123456',
  workDir: '/home/pb/jobs/j1',
  resultDir: '/data/jobs/j1/result',
};

describe('job views', () => {
  it('keeps pids and host paths out of the public job', () => {
    const job = toPublicJob(record);
    expect(job).not.toHaveProperty('pid');
    expect(job).not.toHaveProperty('workDir');
    expect(job).toMatchObject({ id: 'j1', params: record.params, result: record.result });
  });

  it('keeps hub events small, from a whole record or from a state read back without params and result', () => {
    const { params: _params, result: _result, ...state } = record;
    for (const source of [record, state]) {
      const event = jobEvent(source);
      expect(Object.keys(event).sort()).toEqual(
        ['attempts', 'createdAt', 'environmentId', 'error', 'finishedAt', 'id', 'logPath', 'name', 'priority', 'progress', 'requestedBy', 'requeueOnInterrupt', 'runner', 'slots', 'startedAt', 'status', 'type'].sort(),
      );
    }
  });
});

describe('job progress writes', () => {
  const running = (): JobState => {
    const { params: _params, result: _result, ...state } = record;
    return { ...state, progress: { fraction: null, stage: 'starting', etaSeconds: null } };
  };

  function storeWithFakes() {
    let state = running();
    const writes: JobProgress[] = [];
    const published: { topic: string; type: string }[] = [];
    const repo = {
      state: async () => state,
      get: async () => undefined,
      progress: async (_id: string, progress: JobProgress) => {
        writes.push(progress);
        state = { ...state, progress };
      },
      update: async (_id: string, patch: Partial<JobState>) => {
        state = { ...state, ...patch };
        return state;
      },
      transition: async () => undefined,
    } as unknown as JobsRepo;
    const publisher = { publish: (topic: string, type: string) => published.push({ topic, type }) };
    const store = createJobStore({ repo, publisher, clock: { now: () => new Date('2026-03-01T12:00:05.000Z') } });
    return { store, writes, published, state: () => state };
  }

  const at = (fraction: number): JobProgress => ({ fraction, stage: 'fetching candles', etaSeconds: null });

  afterEach(() => vi.useRealTimers());

  it('publishes every report at once and writes the latest one a second later', async () => {
    vi.useFakeTimers();
    const { store, writes, published } = storeWithFakes();
    store.progress('j1', at(0.1));
    store.progress('j1', at(0.2));
    store.progress('j1', at(0.3));
    expect(published.filter((p) => p.topic === 'job:j1')).toHaveLength(3);
    expect(writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([at(0.3)]);
    store.progress('j1', at(0.4));
    await vi.advanceTimersByTimeAsync(999);
    expect(writes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toEqual([at(0.3), at(0.4)]);
  });

  it('a job shorter than a second gets its last progress with the final write, and nothing after it', async () => {
    vi.useFakeTimers();
    const { store, writes, state } = storeWithFakes();
    store.progress('j1', at(0.5));
    await store.finish('j1', { status: 'failed', error: 'exited with code 1', result: null, resultDir: null }, true);
    expect(state()).toMatchObject({ status: 'failed', progress: at(0.5), finishedAt: '2026-03-01T12:00:05.000Z' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toEqual([]);
  });
});
