/**
 * Test-only builders: small in-memory data sources of synthetic "lesion" images. Not exported from
 * the library's index.
 */
import * as tf from '@tensorflow/tfjs';
import { normalize, renderFundus, type Severity } from '@fundus/imaging';
import { Rng } from './rng';
import type { Batch, BatchRequest, DataSource, TrainConfig } from './train';

export interface SpotDataOptions {
  /** Number of images; labels alternate 0, 1, 0, 1… unless `positiveEvery` is given. */
  n: number;
  size: number;
  seed: number;
  /** Every k-th image is positive (default 2). */
  positiveEvery?: number;
}

/**
 * Images of Gaussian noise; positives carry one bright 5×5 spot in the red channel at a random place.
 * `batch` flips an image horizontally when asked to augment and its seed is odd, and records every
 * request in `requests` so tests can inspect sampling.
 */
export class SpotData implements DataSource {
  readonly size: number;
  readonly labels: Int32Array;
  readonly requests: Array<{ indices: number[]; request: BatchRequest }> = [];
  private readonly images: Float32Array[] = [];
  private readonly side: number;

  constructor(o: SpotDataOptions) {
    const rng = new Rng(o.seed);
    const every = o.positiveEvery ?? 2;
    this.size = o.n;
    this.side = o.size;
    this.labels = new Int32Array(o.n);
    const s = o.size;
    for (let i = 0; i < o.n; i++) {
      const y = i % every === every - 1 ? 1 : 0;
      this.labels[i] = y;
      const x = new Float32Array(s * s * 3);
      for (let j = 0; j < x.length; j++) x[j] = rng.normal() * 0.3;
      if (y === 1) {
        const cx = 3 + rng.int(s - 6);
        const cy = 3 + rng.int(s - 6);
        for (let a = -2; a <= 2; a++) for (let b = -2; b <= 2; b++) x[((cy + a) * s + cx + b) * 3] += 1.5;
      }
      this.images.push(x);
    }
  }

  batch(indices: number[], request: BatchRequest): Batch {
    this.requests.push({ indices: [...indices], request });
    const s = this.side;
    const per = s * s * 3;
    const x = new Float32Array(indices.length * per);
    const y = new Int32Array(indices.length);
    indices.forEach((k, i) => {
      const img = this.images[k];
      const flip = request.augment && request.seeds !== undefined && request.seeds[i] % 2 === 1;
      if (!flip) {
        x.set(img, i * per);
      } else {
        for (let r = 0; r < s; r++) {
          for (let c = 0; c < s; c++) {
            for (let ch = 0; ch < 3; ch++)
              x[i * per + (r * s + c) * 3 + ch] = img[(r * s + (s - 1 - c)) * 3 + ch];
          }
        }
      }
      y[i] = this.labels[k];
    });
    return { x, y };
  }
}

/** Concatenated images of a data source (for predictions). */
export function allImages(d: SpotData): Float32Array {
  return d.batch(
    Array.from({ length: d.size }, (_, i) => i),
    { augment: false },
  ).x;
}

/**
 * Gives every batch-norm layer and bias of `model` random values (gamma in [0.5, 1.5), moving
 * variance in [0.5, 2), beta, bias and moving mean ~ N(0, spread²)), so outputs spread out and
 * batch-norm folding in an export is actually exercised. Kernels are left as initialised.
 */
export function randomiseStatistics(model: tf.LayersModel, seed: number, spread = 0.2): void {
  const rng = new Rng(seed);
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const kind = w.originalName.split('/').pop();
      if (kind === 'kernel') continue;
      const n = w.shape.reduce((a: number, b) => a * (b as number), 1);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (kind === 'gamma') v[i] = 0.5 + rng.next();
        else if (kind === 'moving_variance') v[i] = 0.5 + rng.next() * 1.5;
        else v[i] = rng.normal() * spread;
      }
      const t = tf.tensor(v, w.shape as number[]);
      w.write(t);
      t.dispose();
    }
  }
}

/**
 * Synthetic fundus photographs from libs/imaging rendered at `side` px and normalised with ImageNet
 * statistics (like `preprocess`): even indices normal, odd disease. Disease images take their lesion
 * load from `mix` in turn; without `mix`, `renderFundus` draws it from the seed over all four.
 */
export class SyntheticFundusData implements DataSource {
  readonly labels: Int32Array;
  readonly images: Float32Array[] = [];

  constructor(
    readonly size: number,
    seed: number,
    private readonly side: number,
    mix?: readonly Severity[],
  ) {
    this.labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const disease = i % 2 === 1;
      this.labels[i] = disease ? 1 : 0;
      const img = renderFundus({
        seed: seed + i,
        size: side,
        disease,
        severity: disease && mix ? mix[(i >> 1) % mix.length] : undefined,
      });
      this.images.push(normalize(img.rgb));
    }
  }

  batch(indices: number[]): Batch {
    const per = this.side * this.side * 3;
    const x = new Float32Array(indices.length * per);
    const y = new Int32Array(indices.length);
    indices.forEach((k, i) => {
      x.set(this.images[k], i * per);
      y[i] = this.labels[k];
    });
    return { x, y };
  }
}

/** The tiny-ResNet training recipe that separates synthetic fundus images (seed focal loss, Adam, cosine). */
export const FUNDUS_TRAINING_RECIPE: TrainConfig = {
  loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
  optimizer: { kind: 'adam' },
  learningRate: 3e-3,
  schedule: { kind: 'cosine', warmupEpochs: 1 },
  epochs: 6,
  batchSize: 16,
  seed: 3,
  earlyStopping: { patience: 2 },
};

/**
 * Largest |got − ref| and largest |ref| over two equally long arrays (kernel-vs-reference checks);
 * arrays of different lengths give an infinite error.
 */
export function errorStats(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
): { maxErr: number; maxRef: number } {
  let maxRef = 0;
  let maxErr = got.length === ref.length ? 0 : Infinity;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
  }
  return { maxErr, maxRef };
}

/** Largest |got − ref| relative to the largest |ref| (0 when both are all zeros). */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  const { maxErr, maxRef } = errorStats(got, ref);
  return maxErr / Math.max(maxRef, 1e-30);
}
