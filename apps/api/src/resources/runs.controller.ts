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
import { type Prisma, type PrismaClient, type Run } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { RunsService } from '@fundus/services';
import { validateKey, type ObjectStore } from '@fundus/storage';
import type { Request, Response } from 'express';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { streamProgress } from '../common/sse';
import { OBJECT_STORE } from '../common/tokens';
import { parseId, parseInput, RequestValidationError } from '../common/validation';
import { assertOwnerOrAdmin } from './ownership';
import { runCurves, storedScores, withoutScores } from './run-curves';
import { createRunBody, listRunsQuery } from './schemas';

/** Columns of a run in lists: everything but the stored validation scores and full metrics. */
export const RUN_LIST_SELECT = {
  id: true,
  datasetId: true,
  sweepId: true,
  trialIndex: true,
  seed: true,
  status: true,
  progress: true,
  currentEpoch: true,
  etaSeconds: true,
  error: true,
  threshold: true,
  auc: true,
  sensitivity: true,
  specificity: true,
  valAuc: true,
  objective: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  createdBy: true,
} satisfies Prisma.RunSelect;

const TERMINAL = ['succeeded', 'failed', 'canceled'];

/** Training runs: create, dashboard list, details with curves, cancel, downloads, progress stream. */
@Controller('runs')
export class RunsController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(RunsService) private readonly runs: RunsService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Post()
  @Roles('admin', 'researcher')
  async create(@Body() body: unknown, @Req() req: unknown) {
    const input = parseInput(createRunBody, body, 'body');
    const actor = principalOf(req);
    const run = await this.runs.createRun({
      datasetId: input.datasetId,
      config: input.config,
      seed: input.seed,
      createdBy: actor.id,
    });
    await this.audit.record(actor, 'run.create', `run:${run.id}`, {
      datasetId: run.datasetId,
      seed: run.seed,
    });
    return run;
  }

  /**
   * Dashboard list: filters, sort by created/AUC/sensitivity/specificity, keyset pagination. Sorting
   * by a metric lists only runs that have it (finished runs).
   */
  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(listRunsQuery, query, 'query');
    const and: Prisma.RunWhereInput[] = [];
    if (q.status) and.push({ status: q.status });
    if (q.sweepId) and.push({ sweepId: q.sweepId });
    if (q.datasetId) and.push({ datasetId: q.datasetId });
    if (q.createdFrom || q.createdTo) and.push({ createdAt: { gte: q.createdFrom, lt: q.createdTo } });
    if (q.minAuc !== undefined || q.maxAuc !== undefined) and.push({ auc: { gte: q.minAuc, lte: q.maxAuc } });
    if (q.minSensitivity !== undefined) and.push({ sensitivity: { gte: q.minSensitivity } });
    if (q.minSpecificity !== undefined) and.push({ specificity: { gte: q.minSpecificity } });
    const field = q.sort;
    if (field !== 'createdAt') and.push({ [field]: { not: null } });
    if (q.cursor) {
      const after = decodeCursor(q.cursor);
      if (field === 'createdAt' ? !(after.value instanceof Date) : typeof after.value !== 'number') {
        throw new RequestValidationError('query', [
          { path: 'cursor', message: `was issued for another sort than ${field}` },
        ]);
      }
      const cmp = q.order === 'desc' ? 'lt' : 'gt';
      and.push({
        OR: [{ [field]: { [cmp]: after.value } }, { [field]: after.value, id: { [cmp]: after.id } }],
      });
    }
    const rows = await this.prisma.run.findMany({
      where: { AND: and },
      orderBy: [{ [field]: q.order }, { id: q.order }],
      take: q.limit + 1,
      select: RUN_LIST_SELECT,
    });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > q.limit && last ? encodeCursor(last[field] as number | Date, last.id) : null;
    return { items, nextCursor };
  }

  /** The run with its epochs, validation/test metrics, model versions, curves and threshold table. */
  @Get(':id')
  async show(@Param('id') id: string) {
    const run = await this.prisma.run.findUnique({
      where: { id: parseId(id) },
      include: { epochs: { orderBy: { epoch: 'asc' } }, models: { orderBy: { createdAt: 'asc' } } },
    });
    if (!run) throw new NotFoundException(`run ${id} does not exist`);
    const { valMetrics, testMetrics, ...rest } = run;
    const val = valMetrics as { atThreshold?: unknown } | null;
    return {
      ...rest,
      valMetrics: val?.atThreshold ?? null,
      testMetrics: withoutScores(testMetrics),
      curves: runCurves(valMetrics),
    };
  }

  /**
   * The run's stored labels and scores: validation (where the operating threshold was chosen) and
   * test (where it was evaluated). The dashboard recomputes metrics at any threshold from them with
   * libs/metrics. A split is null when the run stored no scores for it (not finished, or older run).
   */
  @Get(':id/scores')
  async scores(@Param('id') id: string) {
    const run = await this.prisma.run.findUnique({
      where: { id: parseId(id) },
      select: { id: true, status: true, threshold: true, valMetrics: true, testMetrics: true },
    });
    if (!run) throw new NotFoundException(`run ${id} does not exist`);
    return {
      runId: run.id,
      status: run.status,
      threshold: run.threshold,
      validation: storedScores(run.valMetrics),
      test: storedScores(run.testMetrics),
    };
  }

  @Post(':id/cancel')
  @Roles('admin', 'researcher')
  @HttpCode(200)
  async cancel(@Param('id') id: string, @Req() req: unknown) {
    const actor = principalOf(req);
    const before = await this.get(parseId(id));
    assertOwnerOrAdmin(actor, before.createdBy, `run ${id}`);
    const run = await this.runs.cancelRun(before.id);
    await this.audit.record(actor, 'run.cancel', `run:${run.id}`, { from: before.status });
    return run;
  }

  /** The run's HTML report, streamed from storage. */
  @Get(':id/report')
  async report(@Param('id') id: string, @Res() res: Response) {
    const run = await this.get(parseId(id));
    if (!run.reportUri) throw new NotFoundException(`run ${id} has no report yet (status ${run.status})`);
    await this.pipe(this.store.keyFromUri(run.reportUri), res, 'text/html; charset=utf-8');
  }

  /** Files of the run's model (tfjs layers: model.json and weight shards). */
  @Get(':id/model')
  async modelFiles(@Param('id') id: string) {
    const prefix = await this.modelPrefix(parseId(id));
    const files: Array<{ name: string; size: number; etag: string }> = [];
    for await (const o of this.store.list(prefix))
      files.push({ name: o.key.slice(prefix.length), size: o.size, etag: o.etag });
    return {
      runId: id,
      files: files.map((f) => ({ ...f, href: `/runs/${id}/model/${encodeURIComponent(f.name)}` })),
    };
  }

  @Get(':id/model/:file')
  async modelFile(@Param('id') id: string, @Param('file') file: string, @Res() res: Response) {
    const prefix = await this.modelPrefix(parseId(id));
    if (file.includes('/') || file.startsWith('.')) {
      throw new RequestValidationError('path', [
        { path: 'file', message: 'must be a file name of the model folder' },
      ]);
    }
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    await this.pipe(validateKey(prefix + file), res, type, file);
  }

  /** Server-sent events: `progress` while it changes, then `end` with the final status. */
  @Get(':id/events')
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const runId = parseId(id);
    await this.get(runId);
    await streamProgress(req, res, async () => {
      const r = await this.prisma.run.findUnique({
        where: { id: runId },
        select: {
          status: true,
          progress: true,
          currentEpoch: true,
          etaSeconds: true,
          error: true,
          auc: true,
        },
      });
      return r ? { data: r, done: TERMINAL.includes(r.status) } : null;
    });
  }

  private async get(id: string): Promise<Run> {
    const run = await this.prisma.run.findUnique({ where: { id } });
    if (!run) throw new NotFoundException(`run ${id} does not exist`);
    return run;
  }

  private async modelPrefix(id: string): Promise<string> {
    const run = await this.get(id);
    if (!run.artifactUri) throw new NotFoundException(`run ${id} has no model (status ${run.status})`);
    const key = this.store.keyFromUri(run.artifactUri);
    return key.endsWith('/') ? key : `${key}/`;
  }

  private async pipe(key: string, res: Response, contentType: string, filename?: string): Promise<void> {
    const stream = await this.store.getStream(key);
    res.setHeader('Content-Type', contentType);
    if (filename)
      res.setHeader('Content-Disposition', `attachment; filename="${filename.replace(/"/g, '')}"`);
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      res.on('finish', resolve);
      res.on('close', resolve);
      stream.pipe(res);
    });
  }
}
