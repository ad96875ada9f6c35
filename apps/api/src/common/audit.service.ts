import { Inject, Injectable } from '@nestjs/common';
import { AuditRepository, type Prisma, type PrismaClient } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import type { Principal } from '../auth/roles';

/** Writes the audit event of a mutation: who (API key id), what, on which subject. */
@Injectable()
export class AuditService {
  readonly repo: AuditRepository;

  constructor(@Inject(PRISMA) prisma: PrismaClient) {
    this.repo = new AuditRepository(prisma);
  }

  async record(
    actor: Principal,
    action: string,
    subject: string,
    details?: Record<string, unknown>,
  ): Promise<void> {
    await this.repo.record({
      actorId: actor.id,
      action,
      subject,
      details: details as Prisma.InputJsonValue | undefined,
    });
  }
}
