import { Body, Controller, Get, Inject, Put, Req } from '@nestjs/common';
import type { ApiConfig } from '@fundus/config';
import type { Prisma, PrismaClient } from '@fundus/db';
import {
  applyNightlySchedule,
  NIGHTLY_SCHEDULER_ID,
  NIGHTLY_SETTING_KEY,
  QueueName,
  type JobQueues,
  type NightlySchedule,
} from '@fundus/jobs';
import { CONFIG, JOB_QUEUES, PRISMA } from '@fundus/platform';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { parseInput } from '../common/validation';
import { nightlyBody } from './schemas';

const NIGHTLY_SETTING = NIGHTLY_SETTING_KEY;

const DEFAULT: NightlySchedule = { cron: '0 2 * * *', timezone: 'UTC', enabled: true };

/**
 * The nightly rescoring schedule: stored in the Setting table ('nightly') and applied to the
 * BullMQ job scheduler at once (disabled = scheduler removed).
 */
@Controller('schedule/nightly')
export class ScheduleController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(JOB_QUEUES) private readonly queues: JobQueues,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get()
  async show() {
    const schedule = await this.current();
    const scheduler = await this.queues.queue(QueueName.Schedule).getJobScheduler(NIGHTLY_SCHEDULER_ID);
    return {
      ...schedule,
      next: scheduler?.next ? new Date(scheduler.next).toISOString() : null,
      registered: !!scheduler,
    };
  }

  @Put()
  @Roles('admin')
  async update(@Body() body: unknown, @Req() req: unknown) {
    const patch = parseInput(nightlyBody, body, 'body');
    const before = await this.current();
    const next: NightlySchedule = {
      cron: patch.cron ?? before.cron,
      timezone: patch.timezone ?? before.timezone,
      enabled: patch.enabled ?? before.enabled,
    };
    const actor = principalOf(req);
    await this.prisma.setting.upsert({
      where: { key: NIGHTLY_SETTING },
      create: { key: NIGHTLY_SETTING, value: next as unknown as Prisma.InputJsonValue, updatedBy: actor.id },
      update: { value: next as unknown as Prisma.InputJsonValue, updatedBy: actor.id },
    });
    await applyNightlySchedule(this.queues, next);
    await this.audit.record(actor, 'schedule.nightly.update', `setting:${NIGHTLY_SETTING}`, {
      before,
      after: next,
    });
    return this.show();
  }

  private async current(): Promise<NightlySchedule> {
    const row = await this.prisma.setting.findUnique({ where: { key: NIGHTLY_SETTING } });
    const fromEnv = this.config as Partial<{ NIGHTLY_CRON: string; NIGHTLY_TZ: string }>;
    const base = {
      ...DEFAULT,
      cron: fromEnv.NIGHTLY_CRON ?? DEFAULT.cron,
      timezone: fromEnv.NIGHTLY_TZ ?? DEFAULT.timezone,
    };
    return { ...base, ...((row?.value as Partial<NightlySchedule> | undefined) ?? {}) };
  }
}
