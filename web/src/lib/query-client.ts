import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api/client';

/** One client per tab. A 4xx is an answer, not a hiccup: only network errors and 5xx retry. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      // The hub invalidates what changed; refetching on focus would only repeat it.
      refetchOnWindowFocus: false,
      staleTime: 30_000,
    },
  },
});
