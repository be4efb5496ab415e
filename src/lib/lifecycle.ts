import type { FastifyBaseLogger } from 'fastify';
import { Loops } from './loops.js';

/**
 * When a step runs.
 * Start: every 'recover' step (bring back what the previous process left: environments,
 * interrupted operations, running bots and jobs), then every 'start' step and background loop.
 * Shutdown: background loops stop and run their `atStop` step, then 'quiesce' steps (stop taking
 * new work), then 'drain' steps (let work in flight end or hand it over).
 * All of these run in registration order, which is the order app.ts builds the modules in: a
 * module's dependencies first. Last, 'release' steps (save what is pending, close connections)
 * run in reverse registration order: a module's resources close before those it was built on.
 */
export type Stage = 'recover' | 'start' | 'quiesce' | 'drain' | 'release';

type Step = () => unknown;

/** The app's start and shutdown steps, registered by each module as it is built; app.ts runs them from its onReady and preClose hooks. */
export class Lifecycle {
  private readonly steps: Record<Stage, Step[]> = { recover: [], start: [], quiesce: [], drain: [], release: [] };
  private readonly loops: Loops;
  private readonly atStop: Step[] = [];

  constructor(log: FastifyBaseLogger) {
    this.loops = new Loops(log);
  }

  on(stage: Stage, step: Step): void {
    this.steps[stage].push(step);
  }

  /**
   * A background loop (never overlapping, failures logged), started with the 'start' steps.
   * `atStop` runs once at shutdown, right after the loops stop: what the loop has still to write.
   */
  every(name: string, intervalMs: number, task: () => unknown, options: { atStop?: Step } = {}): void {
    this.on('start', () => this.loops.every(name, intervalMs, task));
    if (options.atStop) this.atStop.push(options.atStop);
  }

  async start(): Promise<void> {
    for (const step of [...this.steps.recover, ...this.steps.start]) await step();
  }

  async stop(): Promise<void> {
    this.loops.stopAll();
    for (const step of [...this.atStop, ...this.steps.quiesce, ...this.steps.drain, ...[...this.steps.release].reverse()]) await step();
  }
}
