import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { SCORING_TERMINAL, type Prisma, type PrismaClient } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { ScoringService } from '@fundus/services';
import type { Request, Response } from 'express';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { NEWEST_FIRST, newestFirstPage, olderThanCursor } from '../common/cursor';
import { streamProgress } from '../common/sse';
import { parseId, parseInput } from '../common/validation';
import { assertOwnerOrAdmin } from './ownership';
import { createScoringJobBody, listScoringJobsQuery } from './schemas';

/** Batch scoring of a storage prefix with one model version. */
@Controller('scoring-jobs')
export class ScoringJobsController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(ScoringService) private readonly scoring: ScoringService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Post()
  @Roles('admin', 'researcher')
  async create(@Body() body: unknown, @Req() req: unknown) {
    const input = parseInput(createScoringJobBody, body, 'body');
    const actor = principalOf(req);
    const job = await this.scoring.createScoringJob(input.modelVersionId, input.prefix, { id: actor.id });
    await this.audit.record(actor, 'scoring.create', `scoring-job:${job.id}`, {
      modelVersionId: job.modelVersionId,
      prefix: job.prefix,
    });
    return job;
  }

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(listScoringJobsQuery, query, 'query');
    const where: Prisma.ScoringJobWhereInput = {
      status: q.status,
      modelVersionId: q.modelVersionId,
      ...olderThanCursor(q.cursor),
    };
    const rows = await this.prisma.scoringJob.findMany({
      where,
      orderBy: NEWEST_FIRST,
      take: q.limit + 1,
    });
    return newestFirstPage(rows, q.limit);
  }

  /** The job with its counts and progress (chunks done / chunks). */
  @Get(':id')
  async show(@Param('id') id: string) {
    const job = await this.scoring.getScoringJob(parseId(id));
    return {
      ...job,
      progress: job.chunks > 0 ? job.chunksDone / job.chunks : SCORING_TERMINAL.includes(job.status) ? 1 : 0,
    };
  }

  @Post(':id/cancel')
  @Roles('admin', 'researcher')
  @HttpCode(200)
  async cancel(@Param('id') id: string, @Req() req: unknown) {
    const actor = principalOf(req);
    const before = await this.scoring.getScoringJob(parseId(id));
    assertOwnerOrAdmin(actor, before.createdBy, `scoring job ${id}`);
    // ScoringService writes the `scoring.cancel` audit event itself when it cancels.
    const r = await this.scoring.cancelScoringJob(before.id, { id: actor.id });
    return { ...r.job, canceled: r.canceled };
  }

  /** Server-sent events: `progress` while counts change, then `end`. */
  @Get(':id/events')
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const jobId = parseId(id);
    await this.scoring.getScoringJob(jobId);
    await streamProgress(req, res, async () => {
      const j = await this.prisma.scoringJob.findUnique({
        where: { id: jobId },
        select: {
          status: true,
          chunks: true,
          chunksDone: true,
          totalKeys: true,
          scored: true,
          ungradable: true,
          failed: true,
          skipped: true,
          error: true,
        },
      });
      return j ? { data: j, done: SCORING_TERMINAL.includes(j.status) } : null;
    });
  }
}
