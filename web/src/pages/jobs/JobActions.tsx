/** Job controls shared by the queue and the job page. */
import { Button, Menu } from '@mantine/core';
import { Link } from '@tanstack/react-router';
import { ConfirmButton } from '../../components/ConfirmButton';
import { notifyDone, notifyError } from '../../components/notifyError';
import { useCancelJob, type JobSummary } from './api';

export function NewJobMenu() {
  return (
    <Menu position="bottom-end">
      <Menu.Target>
        <Button>New job</Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Item renderRoot={(props) => <Link {...props} to="/jobs/new" search={{ type: 'backtest' }} />}>Backtest</Menu.Item>
        <Menu.Item renderRoot={(props) => <Link {...props} to="/jobs/new" search={{ type: 'optimize' }} />}>Optimization</Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

export function CancelJobButton({ job, size = 'xs' }: { job: Pick<JobSummary, 'id' | 'type' | 'name' | 'status'>; size?: 'xs' | 'sm' }) {
  const cancel = useCancelJob();
  return (
    <ConfirmButton
      size={size}
      variant="light"
      title={`Cancel ${job.name}?`}
      message={job.status === 'running' ? 'The run is interrupted (SIGINT, then SIGKILL); what it wrote so far is kept.' : 'The job leaves the queue and does not run.'}
      confirmLabel="Cancel job"
      aria-label={`Cancel ${job.name}`}
      onConfirm={async () => {
        try {
          await cancel.mutateAsync({ id: job.id, type: job.type });
          notifyDone(`${job.name} cancelled`);
        } catch (error) {
          notifyError(`Could not cancel ${job.name}`, error);
          throw error;
        }
      }}
    >
      Cancel
    </ConfirmButton>
  );
}

/** "Open result": the result page of a backtest or an optimization. */
export function ResultButton({ job, size = 'sm' }: { job: Pick<JobSummary, 'id' | 'type' | 'name'>; size?: 'xs' | 'sm' }) {
  const common = { size, variant: 'light', 'aria-label': `Open result of ${job.name}` } as const;
  return (
    <Button
      {...common}
      renderRoot={(props) => (job.type === 'backtest' ? <Link {...props} to="/results/backtest/$id" params={{ id: job.id }} /> : <Link {...props} to="/results/optimize/$id" params={{ id: job.id }} />)}
    >
      Open result
    </Button>
  );
}
