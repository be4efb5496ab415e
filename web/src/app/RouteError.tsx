import { Alert, Button, Stack } from '@mantine/core';
import type { ErrorComponentProps } from '@tanstack/react-router';
import { ApiError } from '../lib/api/client';

/** A page that failed to load says why, and offers to try again (a 403 names the missing role). */
export function RouteError({ error, reset }: ErrorComponentProps) {
  const title = error instanceof ApiError && error.status === 403 ? 'Not allowed' : 'Something went wrong';
  return (
    <Stack p="md" maw={640}>
      <Alert color="red" title={title} role="alert">
        {error instanceof Error ? error.message : String(error)}
        {error instanceof ApiError && error.requestId ? ` (request ${error.requestId})` : ''}
      </Alert>
      <Button variant="light" onClick={reset} w="fit-content">
        Try again
      </Button>
    </Stack>
  );
}
