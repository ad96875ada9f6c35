import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Prisma, PrismaClient, Sweep } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { sweepRequestSchema, SweepsService } from '@fundus/services';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { NEWEST_FIRST, newestFirstPage, olderThanCursor } from '../common/cursor';
import { streamProgress } from '../common/sse';
import { parseId, parseInput, queryLimit, uuidSchema } from '../common/validation';
import { assertOwnerOrAdmin } from './ownership';
import { RUN_LIST_SELECT } from './runs.controller';

export const listSweepsQuery = z
  .object({
    status: z
      .enum(['queued', 'running', 'succeeded', 'failed', 'canceled'], {
        error: 'must be one of queued, running, succeeded, failed, canceled',
      })
      .optional(),
    datasetId: uuidSchema.optional(),
    limit: queryLimit,
    cursor: z.string().max(512).optional(),
  })
  .strict();

const TERMINAL = ['succeeded', 'failed', 'canceled'];

/** Hyper-parameter sweeps (alpha × gamma × learning rate): create, show with leaderboard, cancel. */
@Controller('sweeps')
export class SweepsController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(SweepsService) private readonly sweeps: SweepsService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** Creates the sweep, its trial runs and the BullMQ flow; trials are capped by MAX_SWEEP_TRIALS. */
  @Post()
  @Roles('admin', 'researcher')
  async create(@Body() body: unknown, @Req() req: unknown) {
    const input = parseInput(sweepRequestSchema, body, 'body');
    const actor = principalOf(req);
    const sweep = await this.sweeps.createSweep({ ...input, createdBy: actor.id });
    await this.audit.record(actor, 'sweep.create', `sweep:${sweep.id}`, {
      datasetId: sweep.datasetId,
      trials: sweep.runIds.length,
    });
    return sweep;
  }

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(listSweepsQuery, query, 'query');
    const where: Prisma.SweepWhereInput = {
      status: q.status,
      datasetId: q.datasetId,
      ...olderThanCursor(q.cursor),
    };
    const rows = await this.prisma.sweep.findMany({
      where,
      orderBy: NEWEST_FIRST,
      take: q.limit + 1,
      omit: { leaderboard: true },
    });
    return newestFirstPage(rows, q.limit);
  }

  /** The sweep with its leaderboard (once finished) and its trials, in trial order. */
  @Get(':id')
  async show(@Param('id') id: string) {
    const sweep = await this.get(parseId(id));
    const trials = await this.prisma.run.findMany({
      where: { sweepId: sweep.id },
      orderBy: { trialIndex: 'asc' },
      select: { ...RUN_LIST_SELECT, config: true },
    });
    const counts = Object.fromEntries(
      ['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => [
        s,
        trials.filter((t) => t.status === s).length,
      ]),
    );
    return { ...sweep, counts, trials };
  }

  @Post(':id/cancel')
  @Roles('admin', 'researcher')
  @HttpCode(200)
  async cancel(@Param('id') id: string, @Req() req: unknown) {
    const actor = principalOf(req);
    const before = await this.get(parseId(id));
    assertOwnerOrAdmin(actor, before.createdBy, `sweep ${id}`);
    const sweep = await this.sweeps.cancelSweep(before.id);
    await this.audit.record(actor, 'sweep.cancel', `sweep:${sweep.id}`, { from: before.status });
    return sweep;
  }

  /** Server-sent events: trial counts per status while they change, then `end` with the leaderboard's top. */
  @Get(':id/events')
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const sweepId = parseId(id);
    await this.get(sweepId);
    await streamProgress(req, res, async () => {
      const s = await this.prisma.sweep.findUnique({
        where: { id: sweepId },
        select: { status: true, trials: true, bestRunId: true, error: true },
      });
      if (!s) return null;
      const groups = await this.prisma.run.groupBy({
        by: ['status'],
        where: { sweepId },
        _count: { _all: true },
      });
      const runs = Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
      return { data: { ...s, runs }, done: TERMINAL.includes(s.status) };
    });
  }

  private async get(id: string): Promise<Sweep> {
    const sweep = await this.prisma.sweep.findUnique({ where: { id } });
    if (!sweep) throw new NotFoundException(`sweep ${id} does not exist`);
    return sweep;
  }
}
