import type { FastifyBaseLogger } from 'fastify';

/**
 * Background loops (purges, heartbeats): never overlapping, failures logged not thrown,
 * timers unref'd, all stopped by `stopAll` on shutdown.
 */
export class Loops {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly log: FastifyBaseLogger) {}

  every(name: string, intervalMs: number, task: () => unknown): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      Promise.resolve()
        .then(task)
        .catch((err: unknown) => this.log.error({ err, loop: name }, 'background loop failed'))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    this.timers.add(timer);
  }

  stopAll(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
  }
}
