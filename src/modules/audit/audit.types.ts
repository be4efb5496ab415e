export const AUDIT_TYPES = ['auth', 'action', 'health_check', 'system', 'error'] as const;
export const AUDIT_LEVELS = ['info', 'success', 'warning', 'error'] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

export interface AuditEntry {
  id: string;
  timestamp: string;
  environmentId: string | null;
  environmentName: string | null;
  userId: string | null;
  username: string | null;
  type: AuditType;
  level: AuditLevel;
  action: string | null;
  message: string;
  details: Record<string, unknown> | null;
  requestId: string | null;
  ip: string | null;
}

export interface AuditFilter {
  type?: AuditType | undefined;
  level?: AuditLevel | undefined;
  action?: string | undefined;
  environmentId?: string | undefined;
  userId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  q?: string | undefined;
  /** Types the caller may not see (not a query parameter: set from the caller's role). */
  hiddenTypes?: readonly AuditType[] | undefined;
}
