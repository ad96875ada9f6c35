import { Logger } from '@nestjs/common';
import type { WorkerConfig } from '@fundus/config';
import type { Prisma, PrismaClient } from '@fundus/db';
import { JobName, UnrecoverableError, type HandlerRegistration } from '@fundus/jobs';
import {
  buildSweepReport,
  reportFiles,
  specificityAtSensitivityObjective,
  type SweepTrialResult,
} from '@fundus/metrics';
import { createObjectStoreFromConfig } from '@fundus/storage';
import { toJsonValue } from './json-value';

export interface SweepDeps {
  prisma: PrismaClient;
  config: WorkerConfig;
}

interface StoredVal {
  labels?: number[];
  scores?: number[];
}

/**
 * Ranks a sweep's trials by its objective, computed from each trial's STORED validation scores (the
 * per-trial threshold sweep needs no retraining), writes the leaderboard and the sweep report.
 */
export function sweepHandlers(deps: SweepDeps): HandlerRegistration[] {
  const handler: HandlerRegistration<JobName.FinishSweep> = {
    name: JobName.FinishSweep,
    handle: async (job) => {
      const { prisma } = deps;
      const logger = new Logger(`sweep job=${job.id} sweep=${job.data.sweepId}`);
      const sweep = await prisma.sweep.findUnique({
        where: { id: job.data.sweepId },
        include: { runs: { orderBy: { trialIndex: 'asc' } } },
      });
      if (!sweep) throw new UnrecoverableError(`sweep ${job.data.sweepId} does not exist`);
      const target = (sweep.objective as { target?: number }).target ?? 0.95;
      const trials: SweepTrialResult[] = [];
      for (const run of sweep.runs) {
        const cfg = run.config as { loss?: { alpha?: number; gamma?: number }; learningRate?: number };
        const base = {
          runId: run.id,
          alpha: cfg.loss?.alpha ?? NaN,
          gamma: cfg.loss?.gamma ?? NaN,
          learningRate: cfg.learningRate,
        };
        if (run.status !== 'succeeded') {
          trials.push({
            ...base,
            status: run.status === 'canceled' ? 'cancelled' : 'failed',
            error: run.error ?? run.status,
          });
          continue;
        }
        const val = (run.valMetrics ?? {}) as StoredVal;
        try {
          const o = specificityAtSensitivityObjective(val.labels ?? [], val.scores ?? [], target);
          trials.push({
            ...base,
            status: 'completed',
            objective: o.objective,
            auc: o.auc,
            threshold: o.selection.threshold,
            sensitivity: o.selection.metrics.sensitivity,
            specificity: o.selection.metrics.specificity,
          });
          await prisma.run.update({ where: { id: run.id }, data: { objective: o.objective } });
        } catch (err) {
          trials.push({ ...base, status: 'failed', error: `objective: ${(err as Error).message}` });
        }
      }
      const report = await buildSweepReport({
        sweepId: sweep.id,
        title: sweep.name ? `Sweep ${sweep.name}` : undefined,
        objectiveName: `specificity at sensitivity ≥ ${target} (validation)`,
        trials,
      });
      const store = createObjectStoreFromConfig(deps.config);
      const prefix = `sweeps/${sweep.id}/report`;
      try {
        for (const file of reportFiles(report))
          await store.put(`${prefix}/${file.path}`, file.body, { contentType: file.contentType });
      } finally {
        await store.close();
      }
      await prisma.sweep.update({
        where: { id: sweep.id },
        data: {
          status: sweep.status === 'canceled' ? 'canceled' : 'succeeded',
          leaderboard: toJsonValue(report.leaderboard) as Prisma.InputJsonValue,
          bestRunId: report.best?.runId ?? null,
          reportUri: store.uriFor(`${prefix}/report.html`),
          finishedAt: new Date(),
        },
      });
      logger.log(`ranked ${trials.length} trials; best ${report.best?.runId ?? 'none'}`);
      return { sweepId: sweep.id, best: report.best?.runId ?? null };
    },
  };
  return [handler as HandlerRegistration];
}
