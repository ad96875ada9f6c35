import { ForbiddenException } from '@nestjs/common';
import type { Principal } from '../auth/roles';

/** Researchers may change only their own work; admins anyone's. */
export function assertOwnerOrAdmin(actor: Principal, createdBy: string | null, what: string): void {
  if (actor.role === 'admin') return;
  if (actor.role === 'researcher' && createdBy === actor.id) return;
  throw new ForbiddenException(
    `${what} was created by another key; only its creator or an admin may change it`,
  );
}
