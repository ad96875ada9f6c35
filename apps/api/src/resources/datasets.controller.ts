import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { DatasetsRepository, type PrismaClient } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { registerDataset, type ObjectStore } from '@fundus/storage';
import type { Response } from 'express';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { NEWEST_FIRST, newestFirstPage, olderThanCursor } from '../common/cursor';
import { OBJECT_STORE } from '../common/tokens';
import { parseId, parseInput } from '../common/validation';
import { pageQuery, registerDatasetBody } from './schemas';

/** Datasets registered from a prefix of the configured object store. */
@Controller('datasets')
export class DatasetsController {
  private readonly datasets: DatasetsRepository;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {
    this.datasets = new DatasetsRepository(prisma);
  }

  /** Registers (idempotent per name + content): 201 when created, 200 when it already existed. */
  @Post()
  @Roles('admin', 'researcher')
  async register(@Body() body: unknown, @Req() req: unknown, @Res({ passthrough: true }) res: Response) {
    const input = parseInput(registerDatasetBody, body, 'body');
    // A URI must lie inside the configured store (and bucket): StorageError outside-root otherwise.
    const prefix = input.uri !== undefined ? this.store.keyFromUri(input.uri) : input.prefix!;
    const actor = principalOf(req);
    const { datasetId, created, plan } = await registerDataset(this.store, this.datasets, {
      name: input.name,
      prefix,
      manifestKey: input.manifestKey,
      labelMap: input.labelMap,
      valFraction: input.valFraction,
      seed: input.seed,
    });
    if (created)
      await this.audit.record(actor, 'dataset.register', `dataset:${datasetId}`, {
        name: input.name,
        prefix,
        digest: plan.digest,
      });
    res.status(created ? 201 : 200);
    return { ...(await this.show(datasetId)), created };
  }

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(pageQuery, query, 'query');
    const rows = await this.prisma.dataset.findMany({
      where: olderThanCursor(q.cursor),
      orderBy: NEWEST_FIRST,
      take: q.limit + 1,
    });
    return newestFirstPage(rows, q.limit);
  }

  /** The dataset with its counts per split and class, and how many runs used it. */
  @Get(':id')
  async show(@Param('id') id: string) {
    const dataset = await this.datasets.get(parseId(id));
    const [items, runs] = await Promise.all([
      this.prisma.datasetItem.count({ where: { datasetId: dataset.id } }),
      this.prisma.run.count({ where: { datasetId: dataset.id } }),
    ]);
    return { ...dataset, itemCount: items, runCount: runs };
  }
}
