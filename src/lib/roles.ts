export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer reads; operator also operates; admin also manages users, secrets and configuration. */
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export const roleAllows = (role: Role, required: Role): boolean => RANK[role] >= RANK[required];

/** The roles below `required`, for the auth matrix. */
export const rolesBelow = (required: Role): Role[] => ROLES.filter((r) => RANK[r] < RANK[required]);
