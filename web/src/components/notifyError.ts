import { notifications } from '@mantine/notifications';
import { ApiError } from '../lib/api/client';
import classes from './readable.module.css';

const CLOSE = { 'aria-label': 'Close notification' };
// Notifications render outside the page: they need the readable grey themselves.
const READABLE = { className: classes.readable };

/** What a failed request means for the user, in one sentence. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return `Not allowed: your role cannot do this (${error.message}).`;
    if (error.status === 429 && error.retryAfter !== undefined) return `${error.message} Try again in ${error.retryAfter} s.`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Shows a failed action as a red notification (403 says plainly that the role does not allow it). */
export function notifyError(title: string, error: unknown): void {
  const forbidden = error instanceof ApiError && error.status === 403;
  notifications.show({ ...READABLE, closeButtonProps: CLOSE, color: 'red', title: forbidden ? `${title}: not allowed` : title, message: describeError(error), autoClose: 8000 });
}

export function notifyDone(message: string): void {
  notifications.show({ ...READABLE, closeButtonProps: CLOSE, color: 'green', message, autoClose: 4000 });
}
