import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, type DatabaseHandle } from '../src/db/database.js';
import { createJobsRepo, type JobsRepo } from '../src/modules/jobs/jobs.repo.js';
import type { JobRecord } from '../src/modules/jobs/jobs.types.js';
import { testDatabases } from './helpers/databases.js';

/** Job state changes read back in the same statement, on both dialects. */
describe.each(testDatabases)('jobs repository on $name', (database) => {
  let handle: DatabaseHandle;
  let dropDatabase: (() => Promise<void>) | undefined;
  let repo: JobsRepo;

  beforeAll(async () => {
    const created = await database.create();
    handle = created.handle;
    dropDatabase = () => created.drop();
    await migrateToLatest(handle.db);
    repo = createJobsRepo(handle.db);
  });

  afterAll(async () => {
    await handle?.close();
    await dropDatabase?.();
  });

  const queued = (id: string): JobRecord => ({
    id,
    type: 'backtest',
    name: `job ${id}`,
    params: { config: { bot: { long: {} } }, overrides: { starting_balance: 1000 }, effective: { bot: { long: {} } } },
    environmentId: 'local',
    status: 'queued',
    priority: 0,
    slots: 1,
    progress: { fraction: null, stage: 'queued', etaSeconds: null },
    requeueOnInterrupt: false,
    attempts: 0,
    runner: null,
    error: null,
    logPath: null,
    requestedBy: 'ops',
    createdAt: '2026-03-01T12:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    result: null,
    pid: null,
    processStart: null,
    workDir: null,
    resultDir: null,
  });

  it('claims a queued job once, returning the whole record to the winner', async () => {
    await repo.insert(queued('a'));
    const claim = { status: 'running' as const, runner: 'server', attempts: 1, startedAt: '2026-03-01T12:00:01.000Z' };
    const [first, second] = await Promise.all([repo.transition('a', ['queued'], claim), repo.transition('a', ['queued'], claim)]);
    const winners = [first, second].filter(Boolean);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ id: 'a', status: 'running', attempts: 1, params: { overrides: { starting_balance: 1000 } }, result: null });
  });

  it('reads back the state without params and result after an update', async () => {
    const state = await repo.update('a', { pid: 4242, processStart: '99', result: { adg: 0.001 } });
    expect(state).toMatchObject({ id: 'a', status: 'running', pid: 4242, processStart: '99', requeueOnInterrupt: false });
    expect(state).not.toHaveProperty('params');
    expect(state).not.toHaveProperty('result');
    expect((await repo.get('a'))?.result).toEqual({ adg: 0.001 });
    expect(await repo.update('missing', { pid: 1 })).toBeUndefined();
    expect(await repo.update('a', {})).toMatchObject({ id: 'a', pid: 4242 });
  });

  it('writes progress only while the job runs', async () => {
    await repo.progress('a', { fraction: 0.5, stage: 'fetching candles', etaSeconds: 3 });
    expect((await repo.state('a'))?.progress).toEqual({ fraction: 0.5, stage: 'fetching candles', etaSeconds: 3 });
    await repo.update('a', { status: 'completed', progress: { fraction: 1, stage: 'complete', etaSeconds: 0 } });
    await repo.progress('a', { fraction: 0.6, stage: 'late report', etaSeconds: null });
    expect((await repo.state('a'))?.progress).toEqual({ fraction: 1, stage: 'complete', etaSeconds: 0 });
  });

  it('reads a queue head in dispatch order, priority first, then age, then id, per environment', async () => {
    const at = (second: number) => `2026-03-01T13:00:${String(second).padStart(2, '0')}.000Z`;
    const jobs: [string, number, string, string][] = [
      ['q1', 0, at(1), 'local'],
      ['q2', 5, at(2), 'local'],
      ['q3', 5, at(2), 'local'],
      ['q0', 5, at(1), 'local'],
      ['q4', 9, at(3), 'other'],
      ['q5', -1, at(0), 'local'],
    ];
    for (const [id, priority, createdAt, environmentId] of jobs) await repo.insert({ ...queued(id), priority, createdAt, environmentId });
    expect((await repo.queueHead('local', 10)).map((j) => j.id)).toEqual(['q0', 'q2', 'q3', 'q1', 'q5']);
    expect((await repo.queueHead('local', 2)).map((j) => j.id)).toEqual(['q0', 'q2']);
    expect(await repo.queueHead('other', 10)).toEqual([{ id: 'q4', slots: 1, attempts: 0 }]);
    expect((await repo.queuedEnvironments()).sort()).toEqual(['local', 'other']);
  });

  it.runIf(database.name === 'sqlite')('reads the queue head from the index, without scanning or sorting the jobs', async () => {
    const compiled = handle.db.selectFrom('jobs').select(['id', 'slots', 'attempts']).where('status', '=', 'queued').where('environment_id', '=', 'local').orderBy('priority', 'desc').orderBy('created_at').orderBy('id').limit(2).compile();
    const plan = await sql.raw<{ detail: string }>(`explain query plan ${compiled.sql.replace(/\?/g, () => "'x'")}`).execute(handle.db);
    const details = plan.rows.map((r) => r.detail).join('; ');
    expect(details).toContain('jobs_dispatch_idx');
    expect(details).not.toMatch(/TEMP B-TREE|SCAN jobs/);
  });
});
