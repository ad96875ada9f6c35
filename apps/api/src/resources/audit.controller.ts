import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { parseInput } from '../common/validation';
import { auditQuery } from './schemas';

/** The audit trail, newest first (admins). */
@Controller('audit-events')
@Roles('admin')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(auditQuery, query, 'query');
    return { items: await this.audit.repo.list({ subject: q.subject, action: q.action, take: q.limit }) };
  }
}
