import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, ApiError, signedInMark, unwrap } from '../../lib/api/client';
import { meQuery } from '../../lib/session';
import { returnPath } from '../../app/return-path';

const REASONS = {
  expired: { color: 'yellow', text: 'Your session has expired. Sign in again.' },
  'signed-out': { color: 'blue', text: 'Signed out.' },
} as const;

/** "1 min 5 s" for a throttle wait. */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** When a throttled sign-in may be tried again. */
const deadline = (seconds: number): number => Date.now() + seconds * 1000;

export default function SignInPage() {
  const { reason, redirect } = useSearch({ from: '/sign-in' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { username: '', password: '' },
    validate: {
      username: (v) => (v.trim() ? null : 'Enter your username'),
      password: (v) => (v ? null : 'Enter your password'),
    },
  });

  useEffect(() => {
    if (waitUntil === null) return;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= waitUntil) setWaitUntil(null);
    }, 1000);
    return () => clearInterval(timer);
  }, [waitUntil]);

  const submit = form.onSubmit(async ({ username, password }) => {
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.POST('/api/v1/auth/login', { body: { username: username.trim(), password, cookie: true } }));
      signedInMark.set();
      queryClient.clear();
      await queryClient.fetchQuery(meQuery);
      // The page asked for before sign-in (checked again: only ever a path of this app); href wins over to.
      const back = returnPath(redirect);
      await navigate({ to: '/fleet', ...(back ? { href: back } : {}) });
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const until = deadline(err.retryAfter ?? 60);
        setNow(until - (err.retryAfter ?? 60) * 1000);
        setWaitUntil(until);
        setError(`Too many sign-in attempts.`);
      } else if (err instanceof ApiError && err.status === 401) {
        setError('Wrong username or password.');
      } else {
        setError(err instanceof Error ? err.message : 'Sign-in failed.');
      }
    } finally {
      setBusy(false);
    }
  });

  const waiting = waitUntil !== null && waitUntil > now;
  const notice = reason ? REASONS[reason] : null;

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={380}>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack>
            <Title order={1} size="h2">
              Sign in to pbfleet
            </Title>
            {notice && !error && (
              <Alert color={notice.color} role="status">
                {notice.text}
              </Alert>
            )}
            {error && (
              <Alert color="red" role="alert">
                {error}
                {waiting && <Text inherit> Try again in {formatWait((waitUntil - now) / 1000)}.</Text>}
              </Alert>
            )}
            <TextInput label="Username" autoComplete="username" required {...form.getInputProps('username')} />
            <PasswordInput label="Password" autoComplete="current-password" required {...form.getInputProps('password')} />
            <Button type="submit" loading={busy} disabled={waiting}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
