import { ModelError } from './errors';

/** Learning-rate schedule; `epoch` below is fractional (epoch + batch / batchesPerEpoch). */
export type ScheduleConfig =
  | { kind: 'constant' }
  /** lr · gamma^floor(epoch / stepEpochs). */
  | { kind: 'step'; stepEpochs: number; gamma: number }
  /** Linear warm-up from 0 over warmupEpochs, then cosine decay to minLr at the last epoch. */
  | { kind: 'cosine'; warmupEpochs?: number; minLr?: number };

/**
 * Validates a schedule.
 * @throws ModelError `invalid-config`
 */
export function validateSchedule(s: ScheduleConfig): ScheduleConfig {
  const bad = (m: string): ModelError => new ModelError('invalid-config', `schedule: ${m}`);
  switch (s?.kind) {
    case 'constant':
      return s;
    case 'step':
      if (!(s.stepEpochs > 0)) throw bad(`"stepEpochs" must be > 0; got ${String(s.stepEpochs)}`);
      if (!(s.gamma > 0 && s.gamma <= 1)) throw bad(`"gamma" must be in (0, 1]; got ${String(s.gamma)}`);
      return s;
    case 'cosine':
      if (s.warmupEpochs !== undefined && !(s.warmupEpochs >= 0))
        throw bad(`"warmupEpochs" must be ≥ 0; got ${String(s.warmupEpochs)}`);
      if (s.minLr !== undefined && !(s.minLr >= 0)) throw bad(`"minLr" must be ≥ 0; got ${String(s.minLr)}`);
      return s;
    default:
      throw bad(`"kind" must be constant, step or cosine; got "${String((s as { kind?: unknown })?.kind)}"`);
  }
}

/**
 * Learning rate at a (fractional) epoch.
 * @param base peak learning rate
 * @param epoch 0-based, fractional: completed epochs + fraction of the current one
 * @param totalEpochs planned number of epochs (cosine decays to minLr at this point)
 */
export function learningRateAt(s: ScheduleConfig, base: number, epoch: number, totalEpochs: number): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * Math.pow(s.gamma, Math.floor(epoch / s.stepEpochs + 1e-9));
    case 'cosine': {
      const warm = s.warmupEpochs ?? 0;
      const minLr = s.minLr ?? 0;
      if (warm > 0 && epoch < warm) return (base * epoch) / warm;
      const span = Math.max(1e-9, totalEpochs - warm);
      const t = Math.min(1, Math.max(0, (epoch - warm) / span));
      return minLr + 0.5 * (base - minLr) * (1 + Math.cos(Math.PI * t));
    }
  }
}
