import type { LiveSummary } from './logs/log-lines.js';
import type { RuntimeShape } from './hosts/bot-layout.fns.js';

export const INSTANCE_STATUSES = ['stopped', 'starting', 'running', 'stopping', 'crashed', 'error', 'unknown'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];
export type DesiredState = 'running' | 'stopped';

/** A live process: the pid with its start time (clock ticks since boot), which together tell it from a recycled pid. */
export interface BotProcess {
  pid: number;
  start: string;
}

/** An instance as stored and as the API shows it. */
export interface Instance {
  id: string;
  name: string;
  environmentId: string;
  account: string;
  exchange: string;
  symbols: string[];
  config: Record<string, unknown>;
  runtime: RuntimeShape;
  desiredState: DesiredState;
  status: InstanceStatus;
  pid: number | null;
  startedAt: string | null;
  restartCount: number;
  lastExitCode: number | null;
  lastError: string | null;
  configVersion: number;
  runningConfigVersion: number | null;
  /** True when the running bot was started from an older config version. */
  restartNeeded: boolean;
  summary: LiveSummary;
  createdAt: string;
  updatedAt: string;
}

/** What the supervisor needs beyond the public view. */
export interface InstanceRecord extends Instance {
  processStart: string | null;
  crashTimes: number[];
  logOffset: number;
}

export interface ConfigVersion {
  version: number;
  createdAt: string;
  createdBy: string | null;
  note: string | null;
}
