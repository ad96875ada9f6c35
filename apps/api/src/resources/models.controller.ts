import {
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { PROMOTE_ACTION, type Prisma, type PrismaClient } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { ScoringService } from '@fundus/services';
import { principalOf, Roles } from '../auth/roles';
import { NEWEST_FIRST, newestFirstPage, olderThanCursor } from '../common/cursor';
import { parseId, parseInput } from '../common/validation';
import { listModelsQuery, pageQuery } from './schemas';

/** Model versions and the champion. Promotion writes its own audit event (ModelsRepository). */
@Controller('models')
export class ModelsController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(ScoringService) private readonly scoring: ScoringService,
  ) {}

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(listModelsQuery, query, 'query');
    const where: Prisma.ModelVersionWhereInput = {
      runId: q.runId,
      champion: q.champion,
      ...olderThanCursor(q.cursor),
    };
    const rows = await this.prisma.modelVersion.findMany({
      where,
      orderBy: NEWEST_FIRST,
      take: q.limit + 1,
      include: {
        run: { select: { auc: true, sensitivity: true, specificity: true, datasetId: true, sweepId: true } },
      },
    });
    return newestFirstPage(rows, q.limit);
  }

  /** The current champion, or `{champion: null}` before the first promotion. */
  @Get('champion')
  async champion() {
    const c = await this.scoring.getChampion();
    return { champion: c };
  }

  /** Every promotion, newest first: who promoted which version, replacing which. */
  @Get('champion/history')
  async history(@Query() query: unknown) {
    const q = parseInput(pageQuery, query, 'query');
    const events = await this.prisma.auditEvent.findMany({
      where: { action: PROMOTE_ACTION },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit,
    });
    return {
      items: events.map((e) => ({
        at: e.createdAt,
        actorId: e.actorId,
        modelVersionId: e.subject?.replace(/^model-version:/, '') ?? null,
        previousChampion:
          (e.details as { previousChampion?: string | null } | null)?.previousChampion ?? null,
      })),
    };
  }

  @Get(':id')
  async show(@Param('id') id: string) {
    const mv = await this.prisma.modelVersion.findUnique({
      where: { id: parseId(id) },
      include: { run: { select: RUN_BRIEF } },
    });
    if (!mv) throw new NotFoundException(`model version ${id} does not exist`);
    return mv;
  }

  /** Makes the version the champion (admins and researchers; audited with who did it). */
  @Post(':id/promote')
  @Roles('admin', 'researcher')
  @HttpCode(200)
  async promote(@Param('id') id: string, @Req() req: unknown) {
    return this.scoring.promoteModelVersion(parseId(id), { id: principalOf(req).id });
  }
}

const RUN_BRIEF = {
  auc: true,
  sensitivity: true,
  specificity: true,
  datasetId: true,
  sweepId: true,
  status: true,
} as const;
