import type { ProbeResult } from '../hosts/bot-host.js';

const HOUR_MS = 3_600_000;

/** Crash times (epoch ms) within the last hour. */
export function recentCrashes(times: readonly number[], now: number): number[] {
  return times.filter((t) => now - t < HOUR_MS);
}

/** 5 s, 10 s, 20 s ... capped: the wait before restart number `crashes`. */
export function nextBackoffMs(crashes: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(crashes - 1, 30)));
}

/** Why a bot that should run is not running, in words a trader understands. */
export function crashReason(exit: Extract<ProbeResult, { state: 'exited' }>, lastErrorLine: string | null): string {
  const detail = lastErrorLine ? `: ${lastErrorLine}` : '';
  if (exit.exitCode === 0) return 'exited with code 0 while it should run (Passivbot gives up this way, e.g. past live.max_n_restarts_per_day)';
  if (exit.signal) return `killed by ${exit.signal}${detail}`;
  if (exit.exitCode === null) return `ended (exit code unknown)${detail}`;
  return `exited with code ${exit.exitCode}${detail}`;
}
