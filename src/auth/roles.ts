/**
 * Roles and what they may do. A route needs one permission (`read`, `operate` or `admin`); a role
 * holds the permissions at and below its own level: viewer reads, operator also runs services,
 * admin also manages nodes, tokens and the admission policy.
 */
import { z } from 'zod';

export const roleSchema = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof roleSchema>;

export type Permission = 'read' | 'operate' | 'admin';

/** The least role that holds each permission: what a 403 says is needed. */
export const ROLE_NEEDED: Record<Permission, Role> = { read: 'viewer', operate: 'operator', admin: 'admin' };

const LEVEL: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, permission: Permission): boolean {
  return LEVEL[role] >= LEVEL[ROLE_NEEDED[permission]];
}
