/**
 * ResNet architectures built with tf.layers.
 *
 * ResNet50 follows `keras.applications.ResNet50` layer for layer, with the same layer names
 * (`conv1_conv`, `conv2_block1_1_conv`, … `conv5_block3_out`), so ImageNet weights converted from
 * Keras load by name (see `loadWeightsByName`). Every model ends in a 2-logit dense layer named
 * `fundus_logits` (linear); probabilities are softmax(logits) and P(disease) is column 1.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';
import { Rng } from './rng';

/** Supported architectures. */
export const ARCHITECTURES = ['resnet50', 'resnet18', 'tiny-resnet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Number of output logits: class 0 = normal, class 1 = disease. */
export const NUM_CLASSES = 2;
/** Name of the final dense layer (kept distinct from Keras' 1000-class `predictions`). */
export const HEAD_LAYER_NAME = 'fundus_logits';

/** Configuration of a model; `createModel` fills defaults and validates. */
export interface ModelConfig {
  architecture: Architecture;
  /** Side of the square input image in pixels; input tensor is [N, inputSize, inputSize, 3]. */
  inputSize: number;
  /** Seed for weight initialisation; equal seeds give identical initial weights. */
  seed: number;
  /** tiny-resnet only: channels per stage (stem uses the first). Default [8, 16, 32]. */
  widths?: number[];
  /** tiny-resnet only: basic blocks per stage. Default 1. */
  blocksPerStage?: number;
  /**
   * Batch-norm moving-average momentum in [0, 1). Default 0.99 (Keras) for resnet50/resnet18,
   * 0.9 for tiny-resnet, whose short test runs need the moving statistics to settle quickly.
   */
  bnMomentum?: number;
}

const DEFAULTS: Omit<ModelConfig, 'architecture'> = { inputSize: 224, seed: 0 };
const MIN_INPUT: Record<Architecture, number> = { resnet50: 32, resnet18: 32, 'tiny-resnet': 8 };
const MAX_INPUT = 1024;

function invalid(message: string): ModelError {
  return new ModelError('invalid-config', message);
}

/**
 * Fills defaults into a partial model configuration and validates it.
 * @throws ModelError `invalid-config` naming the offending field and the allowed values.
 */
export function resolveModelConfig(input: Partial<ModelConfig>): ModelConfig {
  if (input == null || typeof input !== 'object') throw invalid('model config must be an object');
  const arch = input.architecture;
  if (arch === undefined)
    throw invalid(`model config: "architecture" is required (one of ${ARCHITECTURES.join(', ')})`);
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw invalid(
      `model config: "architecture" must be one of ${ARCHITECTURES.join(', ')}; got "${String(arch)}"`,
    );
  }
  const cfg: ModelConfig = { ...DEFAULTS, ...input, architecture: arch };
  const min = MIN_INPUT[arch];
  if (!Number.isInteger(cfg.inputSize) || cfg.inputSize < min || cfg.inputSize > MAX_INPUT) {
    throw invalid(
      `model config: "inputSize" must be an integer in [${min}, ${MAX_INPUT}] for ${arch}; got ${String(cfg.inputSize)}`,
    );
  }
  if (!Number.isSafeInteger(cfg.seed))
    throw invalid(`model config: "seed" must be an integer; got ${String(cfg.seed)}`);
  cfg.bnMomentum = cfg.bnMomentum ?? (arch === 'tiny-resnet' ? 0.9 : 0.99);
  if (!(cfg.bnMomentum >= 0 && cfg.bnMomentum < 1)) {
    throw invalid(`model config: "bnMomentum" must be in [0, 1); got ${String(cfg.bnMomentum)}`);
  }
  if (arch === 'tiny-resnet') {
    cfg.widths = cfg.widths ?? [8, 16, 32];
    cfg.blocksPerStage = cfg.blocksPerStage ?? 1;
    if (!Array.isArray(cfg.widths) || cfg.widths.length < 1 || cfg.widths.length > 6) {
      throw invalid('model config: "widths" must be an array of 1 to 6 positive integers');
    }
    cfg.widths.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 1 || w > 2048) {
        throw invalid(`model config: "widths[${i}]" must be an integer in [1, 2048]; got ${String(w)}`);
      }
    });
    if (!Number.isInteger(cfg.blocksPerStage) || cfg.blocksPerStage < 1 || cfg.blocksPerStage > 8) {
      throw invalid(
        `model config: "blocksPerStage" must be an integer in [1, 8]; got ${String(cfg.blocksPerStage)}`,
      );
    }
  } else if (input.widths !== undefined || input.blocksPerStage !== undefined) {
    throw invalid(`model config: "widths" and "blocksPerStage" apply to tiny-resnet only, not ${arch}`);
  }
  return cfg;
}

/** A layer whose kernel `initKernels` fills after the model is built. */
interface PendingInit {
  layer: string;
  kind: 'he-normal' | 'glorot-uniform';
  seed: number;
}

/**
 * Builds layers (kernels start at zero) and records, per layer, a seed drawn from one seeded
 * generator; `initKernels` then fills the kernels in plain JavaScript, which is much faster than
 * tfjs' seeded initialisers (ResNet50 has 23.5 M weights) and identical on every backend.
 */
class Builder {
  private readonly rng: Rng;
  readonly pending: PendingInit[] = [];

  constructor(
    seed: number,
    private readonly bnMomentum: number,
  ) {
    this.rng = new Rng(seed);
  }

  conv(
    x: tf.SymbolicTensor,
    filters: number,
    kernel: number,
    stride: number,
    name: string,
    opts: { padding?: 'same' | 'valid'; useBias: boolean },
  ): tf.SymbolicTensor {
    const out = tf.layers
      .conv2d({
        filters,
        kernelSize: kernel,
        strides: stride,
        padding: opts.padding ?? 'valid',
        useBias: opts.useBias,
        kernelInitializer: 'zeros',
        biasInitializer: 'zeros',
        name,
      })
      .apply(x) as tf.SymbolicTensor;
    this.pending.push({ layer: name, kind: 'he-normal', seed: this.rng.uint32() });
    return out;
  }

  bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers
      .batchNormalization({ axis: 3, epsilon: 1.001e-5, momentum: this.bnMomentum, name })
      .apply(x) as tf.SymbolicTensor;
  }

  relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.activation({ activation: 'relu', name }).apply(x) as tf.SymbolicTensor;
  }

  add(a: tf.SymbolicTensor, b: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
    return tf.layers.add({ name }).apply([a, b]) as tf.SymbolicTensor;
  }

  head(x: tf.SymbolicTensor): tf.SymbolicTensor {
    const pooled = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: NUM_CLASSES, kernelInitializer: 'zeros', name: HEAD_LAYER_NAME })
      .apply(pooled) as tf.SymbolicTensor;
    this.pending.push({ layer: HEAD_LAYER_NAME, kind: 'glorot-uniform', seed: this.rng.uint32() });
    return out;
  }

  /** Keras ResNet v1 stem: 7×7/2 conv, BN, ReLU, 3×3/2 max-pool. */
  stem(input: tf.SymbolicTensor, useBias: boolean): tf.SymbolicTensor {
    let x = tf.layers
      .zeroPadding2d({
        padding: [
          [3, 3],
          [3, 3],
        ],
        name: 'conv1_pad',
      })
      .apply(input) as tf.SymbolicTensor;
    x = this.conv(x, 64, 7, 2, 'conv1_conv', { useBias });
    x = this.bn(x, 'conv1_bn');
    x = this.relu(x, 'conv1_relu');
    x = tf.layers
      .zeroPadding2d({
        padding: [
          [1, 1],
          [1, 1],
        ],
        name: 'pool1_pad',
      })
      .apply(x) as tf.SymbolicTensor;
    return tf.layers
      .maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' })
      .apply(x) as tf.SymbolicTensor;
  }

  /** Keras `block1` (bottleneck): 1×1/stride → 3×3 → 1×1 (4× filters), projection shortcut if asked. */
  bottleneck(
    x: tf.SymbolicTensor,
    filters: number,
    stride: number,
    shortcutConv: boolean,
    name: string,
  ): tf.SymbolicTensor {
    let shortcut = x;
    if (shortcutConv) {
      shortcut = this.conv(x, 4 * filters, 1, stride, `${name}_0_conv`, { useBias: true });
      shortcut = this.bn(shortcut, `${name}_0_bn`);
    }
    let y = this.conv(x, filters, 1, stride, `${name}_1_conv`, { useBias: true });
    y = this.relu(this.bn(y, `${name}_1_bn`), `${name}_1_relu`);
    y = this.conv(y, filters, 3, 1, `${name}_2_conv`, { padding: 'same', useBias: true });
    y = this.relu(this.bn(y, `${name}_2_bn`), `${name}_2_relu`);
    y = this.conv(y, 4 * filters, 1, 1, `${name}_3_conv`, { useBias: true });
    y = this.bn(y, `${name}_3_bn`);
    return this.relu(this.add(shortcut, y, `${name}_add`), `${name}_out`);
  }

  /** Basic residual block (ResNet18/34): 3×3/stride → 3×3, projection shortcut when the shape changes. */
  basic(x: tf.SymbolicTensor, filters: number, stride: number, name: string): tf.SymbolicTensor {
    const inChannels = x.shape[3] as number;
    let shortcut = x;
    if (stride !== 1 || inChannels !== filters) {
      shortcut = this.conv(x, filters, 1, stride, `${name}_0_conv`, { useBias: false });
      shortcut = this.bn(shortcut, `${name}_0_bn`);
    }
    let y = this.conv(x, filters, 3, stride, `${name}_1_conv`, { padding: 'same', useBias: false });
    y = this.relu(this.bn(y, `${name}_1_bn`), `${name}_1_relu`);
    y = this.conv(y, filters, 3, 1, `${name}_2_conv`, { padding: 'same', useBias: false });
    y = this.bn(y, `${name}_2_bn`);
    return this.relu(this.add(shortcut, y, `${name}_add`), `${name}_out`);
  }
}

function buildResNet50(b: Builder, input: tf.SymbolicTensor): tf.SymbolicTensor {
  let x = b.stem(input, true);
  const stacks: Array<[number, number, number]> = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ];
  stacks.forEach(([filters, blocks, stride], s) => {
    const name = `conv${s + 2}`;
    x = b.bottleneck(x, filters, stride, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) x = b.bottleneck(x, filters, 1, false, `${name}_block${i}`);
  });
  return b.head(x);
}

function buildResNet18(b: Builder, input: tf.SymbolicTensor): tf.SymbolicTensor {
  let x = b.stem(input, false);
  [64, 128, 256, 512].forEach((filters, s) => {
    for (let i = 1; i <= 2; i++) x = b.basic(x, filters, i === 1 && s > 0 ? 2 : 1, `conv${s + 2}_block${i}`);
  });
  return b.head(x);
}

function buildTiny(
  b: Builder,
  input: tf.SymbolicTensor,
  widths: number[],
  blocks: number,
): tf.SymbolicTensor {
  let x = b.conv(input, widths[0], 3, 2, 'conv1_conv', { padding: 'same', useBias: false });
  x = b.relu(b.bn(x, 'conv1_bn'), 'conv1_relu');
  widths.forEach((filters, s) => {
    for (let i = 1; i <= blocks; i++)
      x = b.basic(x, filters, i === 1 && s > 0 ? 2 : 1, `conv${s + 2}_block${i}`);
  });
  return b.head(x);
}

/** He-normal (truncated at 2σ, as Keras) for convolutions, Glorot-uniform for the dense head. */
function initKernels(model: tf.LayersModel, pending: PendingInit[]): void {
  for (const p of pending) {
    const kernel = model.getLayer(p.layer).weights[0];
    const shape = kernel.shape as number[];
    const fanOut = shape[shape.length - 1];
    const fanIn = shape.reduce((a, b) => a * b, 1) / fanOut;
    const rng = new Rng(p.seed);
    const values = new Float32Array(fanIn * fanOut);
    if (p.kind === 'he-normal') {
      // 0.8796… = std of a standard normal truncated at ±2; Keras rescales by it.
      const std = Math.sqrt(2 / fanIn) / 0.87962566103423978;
      for (let i = 0; i < values.length; i++) values[i] = rng.truncatedNormal(std);
    } else {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * limit;
    }
    const t = tf.tensor(values, shape);
    kernel.write(t);
    t.dispose();
  }
}

/**
 * Creates an untrained classifier. Input [N, inputSize, inputSize, 3] float32 (preprocessed,
 * NHWC); output [N, 2] logits. Same config (incl. seed) ⇒ identical initial weights on any backend.
 * @throws ModelError `invalid-config` for a bad configuration.
 */
export function createModel(config: Partial<ModelConfig>): tf.LayersModel {
  const cfg = resolveModelConfig(config);
  const b = new Builder(cfg.seed, cfg.bnMomentum as number);
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'input_1' });
  let out: tf.SymbolicTensor;
  switch (cfg.architecture) {
    case 'resnet50':
      out = buildResNet50(b, input);
      break;
    case 'resnet18':
      out = buildResNet18(b, input);
      break;
    case 'tiny-resnet':
      out = buildTiny(b, input, cfg.widths as number[], cfg.blocksPerStage as number);
      break;
  }
  const model = tf.model({ inputs: input, outputs: out, name: cfg.architecture.replace('-', '_') });
  initKernels(model, b.pending);
  return model;
}

/**
 * Copies weights into `model` by their Keras names (`conv1_conv/kernel`, `conv2_block1_0_bn/gamma`,
 * …), e.g. ImageNet weights converted from keras.applications.ResNet50. Shapes must match.
 * @returns names loaded and model weights left untouched (e.g. the `fundus_logits` head).
 * @throws ModelError `incompatible-checkpoint` when a matching name has a different shape.
 */
export function loadWeightsByName(
  model: tf.LayersModel,
  weights: Record<string, tf.Tensor>,
): { loaded: string[]; missing: string[] } {
  const loaded: string[] = [];
  const missing: string[] = [];
  const strip = (n: string): string => n.replace(/_\d+$/, '').replace(/:0$/, '');
  const byName = new Map<string, tf.Tensor>();
  for (const [k, v] of Object.entries(weights)) byName.set(strip(k), v);
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = w.originalName;
      const src = byName.get(name) ?? byName.get(strip(w.name));
      if (!src) {
        missing.push(name);
        continue;
      }
      if (!tf.util.arraysEqual(src.shape, w.shape as number[])) {
        throw new ModelError(
          'incompatible-checkpoint',
          `weight "${name}": source shape [${src.shape.join(', ')}] does not match model shape [${w.shape.join(', ')}]`,
        );
      }
      w.write(src);
      loaded.push(name);
    }
  }
  return { loaded, missing };
}
