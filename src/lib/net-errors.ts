const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name does not resolve',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
};

/** A short, operator-readable reason for a socket error code, if it is a common one. */
export const describeSocketError = (code: string | undefined): string | undefined => (code ? SOCKET_ERRORS[code] : undefined);
