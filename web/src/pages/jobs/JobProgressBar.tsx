/**
 * A job's progress as Passivbot reports it: a bar with the fraction of the current stage where
 * there is one (candle fetching, evaluations against iterations), and only the stage's name where
 * there is none (the simulation prints nothing: no invented number, no fake bar).
 */
import { Group, Loader, Progress, Stack, Text } from '@mantine/core';
import { StatusBadge } from '../../components/StatusBadge';
import type { JobProgress, JobStatus } from './api';
import { duration } from './format';

function num(detail: Record<string, unknown> | undefined, key: string): number | null {
  const value = detail?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** What the stage's numbers say, in words: "binance 10/25", "generation 3 · 120 / 500 evaluations". */
export function progressDetail(progress: JobProgress): string | null {
  const d = progress.detail;
  if (progress.stage === 'fetching candles') {
    const done = num(d, 'done');
    const total = num(d, 'total');
    const exchange = typeof d?.exchange === 'string' ? d.exchange : null;
    return done !== null && total !== null ? `${exchange ? `${exchange} ` : ''}${done}/${total} coins` : null;
  }
  const evaluations = num(d, 'evaluations');
  if (evaluations !== null) {
    const iters = num(d, 'iters');
    const generation = num(d, 'generation');
    const front = num(d, 'front');
    return [generation !== null && `generation ${generation}`, `${evaluations.toLocaleString()}${iters !== null ? ` / ${iters.toLocaleString()}` : ''} evaluations`, front !== null && `front ${front}`].filter(Boolean).join(' · ');
  }
  const seconds = num(d, 'simulationSeconds');
  if (seconds !== null) return `simulated in ${seconds.toFixed(1)} s`;
  const label = typeof d?.label === 'string' ? d.label : null;
  return label && progress.stage === 'simulating' ? label : null;
}

export interface JobProgressBarProps {
  status: JobStatus;
  progress: JobProgress;
  /** The job's name, for the bar's accessible name. */
  name: string;
  compact?: boolean;
}

export function JobProgressBar({ status, progress, name, compact = false }: JobProgressBarProps) {
  if (status !== 'running') {
    return (
      <Group gap="xs" wrap="nowrap">
        <StatusBadge status={status} size={compact ? 'sm' : 'md'} />
        {status === 'queued' && progress.stage !== 'queued' && (
          <Text size="xs" c="dimmed">
            {progress.stage}
          </Text>
        )}
      </Group>
    );
  }
  const detail = progressDetail(progress);
  const eta = progress.etaSeconds !== null ? `ETA ${duration(progress.etaSeconds)}` : null;
  const percent = progress.fraction !== null ? Math.round(progress.fraction * 1000) / 10 : null;
  return (
    <Stack gap={4} miw={compact ? 160 : 240} data-testid="job-progress" data-stage={progress.stage} data-fraction={progress.fraction ?? ''}>
      <Group gap="xs" justify="space-between" wrap="nowrap">
        <Text size="sm" fw={500}>
          {progress.stage}
          {percent !== null && ` ${percent}%`}
        </Text>
        {eta && (
          <Text size="xs" c="dimmed">
            {eta}
          </Text>
        )}
      </Group>
      {percent !== null ? (
        <Progress value={percent} size={compact ? 'sm' : 'md'} aria-label={`${name}: ${progress.stage}`} transitionDuration={200} />
      ) : (
        <Group gap={6} wrap="nowrap">
          <Loader size="xs" type="dots" aria-hidden="true" />
          <Text size="xs" c="dimmed">
            no progress reported in this stage
          </Text>
        </Group>
      )}
      {detail && (
        <Text size="xs" c="dimmed">
          {detail}
        </Text>
      )}
    </Stack>
  );
}
