import type { Prisma, PrismaClient } from './client';
import type { AuditEvent } from './generated/client';

export type { AuditEvent };

export interface NewAuditEvent {
  /** API key id of whoever acted; null for system actions. */
  actorId?: string | null;
  /** Verb-like, dotted: `run.create`, `model.promote`, `api-key.create`. */
  action: string;
  /** `<kind>:<id>`, e.g. `run:6f1c…`. */
  subject?: string | null;
  details?: Prisma.InputJsonValue;
}

/** The audit trail: one row per mutation, append-only. */
export class AuditRepository {
  constructor(private readonly prisma: PrismaClient) {}

  record(e: NewAuditEvent): Promise<AuditEvent> {
    return this.prisma.auditEvent.create({
      data: { actorId: e.actorId ?? null, action: e.action, subject: e.subject ?? null, details: e.details },
    });
  }

  /** Newest first; filter by subject and/or action. */
  list(filter: { subject?: string; action?: string; take?: number } = {}): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({
      where: { subject: filter.subject, action: filter.action },
      orderBy: { createdAt: 'desc' },
      take: filter.take ?? 100,
    });
  }
}
