import { SetMetadata } from '@nestjs/common';
import type { Role } from '@fundus/db';

export const ROLES_KEY = 'fundus:roles';
export const PUBLIC_KEY = 'fundus:public';

/** Roles allowed on a route (default: any valid key). Uses plain metadata, no emitted types. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** A route that needs no key (health, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Who is calling: the API key that authenticated the request. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
}

/** The principal the guard attached to the request. */
export function principalOf(req: unknown): Principal {
  const p = (req as { principal?: Principal }).principal;
  if (!p) throw new Error('no principal on the request: the auth guard did not run');
  return p;
}
