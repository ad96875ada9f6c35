/**
 * Batch normalisation for training (per-channel batch statistics, channels last) as one custom-
 * gradient op, instead of tfjs-layers' composite `moments` + `batchNormalization` whose gradient
 * is taken op by op. With x̂ = (x − μ)·r, r = 1/√(σ² + ε), M = elements per channel:
 *   ∂β = Σdy    ∂γ = r·Σdy(x − μ)    ∂x = γr·(dy − Σdy/M − (x − μ)·r²·Σdy(x − μ)/M)
 * (the statistics' own gradients folded in, as in tf.nn.fused_batch_norm's training gradient).
 * On webgpu it is 2 programs forward (statistics [2, C]; normalise) and 2 backward ([∂γ; ∂β] in one
 * reduction, split by buffer copies; ∂x); elsewhere the same maths in tfjs ops.
 * tfjs-layers' BatchNormalization uses it inside `withFusedBatchNorm` (trainModel's webgpu fast
 * path) or after `patchLayersBatchNorm()`.
 */
import * as tf from '@tensorflow/tfjs';
import { runChannelReduce } from './channel-reduce';
import { FlatVariables, flatShader } from './flat-update';
import { ElementwiseProgram } from './fused-adam';
import { bufferOf, CopyRecorder, webgpuBackend, type WebGpuProgramRunner } from './raw';

type TensorInfo = tf.TensorInfo;
type Args = {
  inputs: Record<string, TensorInfo>;
  backend: WebGpuProgramRunner;
  attrs: Record<string, unknown>;
};

let registered = false;

/**
 * Registers the webgpu kernels of training batch norm: statistics, normalisation, the [∂γ; ∂β]
 * reduction and ∂x (per-channel factors computed inline). Idempotent; needs the webgpu backend.
 */
export function registerWebGpuBatchNormTraining(): void {
  if (registered) return;
  const kernel = (name: string, fn: (a: Args) => TensorInfo): void => {
    tf.registerKernel({
      kernelName: name,
      backendName: 'webgpu',
      kernelFunc: fn as unknown as tf.KernelFunc,
    });
  };
  kernel('FundusBatchNormStats', ({ inputs, backend }) => runChannelReduce(backend, 'stats', [inputs.x]));
  kernel('FundusBatchNormGradReduce', ({ inputs, backend, attrs }) =>
    inputs.y
      ? runChannelReduce(
          backend,
          'bn-relu-grad',
          [inputs.dy, inputs.x, inputs.stats, inputs.y],
          attrs.epsilon as number,
        )
      : runChannelReduce(backend, 'bn-grad', [inputs.dy, inputs.x, inputs.stats], attrs.epsilon as number),
  );
  kernel('FundusBatchNormForward', ({ inputs, backend, attrs }) => {
    const shape = inputs.x.shape;
    const prog = new ElementwiseProgram(
      shape,
      ['X', 'S', 'G', 'B'],
      'channels : i32, eps : f32,',
      `let c = index % uniforms.channels;
          let inv = G[c] * inverseSqrt(S[uniforms.channels + c] + uniforms.eps);
          let v = (X[index] - S[c]) * inv + B[c];
          let r = ${attrs.relu ? 'select(v, 0.0, v < 0.0)' : 'v'};`,
      `fundus_bn_forward_${attrs.relu === true}`,
    );
    const { x, stats, gamma, beta } = inputs;
    return backend.runWebGPUProgram(prog, [x, stats, gamma, beta], 'float32', [
      { type: 'int32', data: [shape[shape.length - 1]] },
      { type: 'float32', data: [attrs.epsilon as number] },
    ]);
  });
  kernel('FundusBatchNormGradX', ({ inputs, backend, attrs }) => {
    const shape = inputs.dy.shape;
    const relu = inputs.y != null;
    const prog = new ElementwiseProgram(
      shape,
      ['DY', 'X', 'S', 'G', 'SUMS', ...(relu ? ['Y'] : [])],
      'channels : i32, eps : f32, invCount : f32,',
      `let c = index % uniforms.channels;
          let rs = inverseSqrt(S[uniforms.channels + c] + uniforms.eps);
          let xc = X[index] - S[c];
          let dy = ${relu ? 'select(0.0, DY[index], Y[index] > 0.0)' : 'DY[index]'};
          let r = G[c] * rs * (dy - SUMS[uniforms.channels + c] * uniforms.invCount - xc * (rs * SUMS[c] * uniforms.invCount));`,
      `fundus_bn_grad_x_${relu}`,
    );
    const { dy, x, stats, gamma, sums, y } = inputs;
    return backend.runWebGPUProgram(prog, [dy, x, stats, gamma, sums, ...(relu ? [y] : [])], 'float32', [
      { type: 'int32', data: [shape[shape.length - 1]] },
      { type: 'float32', data: [attrs.epsilon as number] },
      { type: 'float32', data: [1 / (attrs.count as number)] },
    ]);
  });
  registered = true;
}

/** Rows of a [2, C] webgpu tensor as two new [C] tensors (buffer copies, no program). */
function splitRows(t: tf.Tensor): [tf.Tensor1D, tf.Tensor1D] {
  const b = webgpuBackend();
  const rec = new CopyRecorder(b);
  const c = t.shape[1] as number;
  const buf = bufferOf(b, t);
  const out: [tf.Tensor1D, tf.Tensor1D] = [
    rec.tensorFrom(buf, 0, [c]) as tf.Tensor1D,
    rec.tensorFrom(buf, 4 * c, [c]) as tf.Tensor1D,
  ];
  rec.done();
  return out;
}

/** Output of `batchNormTraining`: normalised y (x's shape) and the batch statistics [C]. */
export interface BatchNormTrainingResult {
  y: tf.Tensor;
  /** Batch mean per channel (no gradient; for moving averages). */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (as tfjs-layers uses for its moving variance). */
  variance: tf.Tensor1D;
}

/** y and the statistics: on webgpu as one [2, C] tensor [mean; variance], elsewhere as two. */
type Internal =
  { y: tf.Tensor; stats: tf.Tensor2D } | { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D };

function batchNormTrainingInternal(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  relu: boolean,
): Internal {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = x.size / x.shape[x.rank - 1];
  const gpu = registered && tf.getBackend() === 'webgpu' && x.dtype === 'float32';
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  let stats: tf.Tensor2D | undefined;
  const e = tf.engine();
  const attrs = { epsilon, count, relu } as unknown as tf.NamedAttrMap;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    if (gpu) {
      const st = e.runKernel('FundusBatchNormStats', { x: xi }) as tf.Tensor2D;
      const y = e.runKernel(
        'FundusBatchNormForward',
        { x: xi, stats: st, gamma: g, beta: b },
        attrs,
      ) as tf.Tensor;
      save(relu ? [xi, st, g, y] : [xi, st, g]);
      stats = tf.keep(tf.clone(st)); // shares the buffer; st itself stays saved for the gradient
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ss, gs, ys] = saved;
          const inputs = { dy, x: xs, stats: ss, ...(relu ? { y: ys } : {}) };
          const sums = e.runKernel('FundusBatchNormGradReduce', inputs, attrs) as tf.Tensor;
          const dx = e.runKernel('FundusBatchNormGradX', { ...inputs, gamma: gs, sums }, attrs) as tf.Tensor;
          const [dg, db] = splitRows(sums);
          return [dx, dg, db];
        },
      };
    }
    const m = tf.mean(xi, axes) as tf.Tensor1D;
    const v = tf.mean(tf.square(tf.sub(xi, m)), axes) as tf.Tensor1D;
    const yn = tf.batchNorm(xi, m, v, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    const y = relu ? tf.relu(yn) : yn;
    save([xi, m, v, g, y]);
    mean = tf.keep(m);
    variance = tf.keep(v);
    return {
      value: y,
      gradFunc: (dyIn: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ms, vs, gs, ys] = saved;
        const dy = relu ? tf.mul(dyIn, tf.cast(tf.step(ys), 'float32')) : dyIn;
        const xc = tf.sub(xs, ms);
        const sumDy = tf.sum(dy, axes);
        const sumDyXc = tf.sum(tf.mul(dy, xc), axes);
        const r = tf.rsqrt(tf.add(vs, epsilon));
        const k = tf.mul(gs, r);
        const a = tf.div(sumDy, count);
        const c = tf.div(tf.mul(tf.square(r), sumDyXc), count);
        const dx = tf.mul(tf.sub(tf.sub(dy, a), tf.mul(xc, c)), k);
        return [dx, tf.mul(sumDyXc, r), sumDy];
      },
    };
  });
  const y = op(x, gamma, beta);
  if (stats) return { y, stats };
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * Normalises x [..., C] over all axes but the last with batch statistics, then scales by gamma and
 * shifts by beta (both [C]); with `relu`, ReLU of that (fused: on webgpu no extra programs forward or
 * backward). Differentiable in x, gamma and beta.
 * @param epsilon added to the variance (> 0), e.g. 1.001e-5 as Keras' ResNet50
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  opts: { relu?: boolean } = {},
): BatchNormTrainingResult {
  const r = batchNormTrainingInternal(x, gamma, beta, epsilon, opts.relu ?? false);
  if ('stats' in r) {
    // Kept, as on the other backends: the statistics outlive the caller's gradient tidy.
    const [mean, variance] = splitRows(r.stats).map((t) => tf.keep(t));
    r.stats.dispose();
    return { y: r.y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return r;
}

interface BatchNormLayerLike {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/** Batch statistics of one layer call, kept for a deferred moving-average update. */
interface PendingStats {
  movingMean: tf.Variable;
  movingVariance: tf.Variable;
  /** [mean; variance] as one [2, C] tensor, or as two [C] tensors. */
  stats: tf.Tensor | [tf.Tensor, tf.Tensor];
  decay: number;
}

let explicitPatches = 0;
let scopes = 0;
let pending: PendingStats[] | null = null;
let stockCall: BatchNormLayerLike['call'] | undefined;
/** BN layers (of the model in the current scope) whose only consumer is a ReLU Activation layer. */
let reluFusable: WeakSet<object> | null = null;
/** Outputs of BN layers that already include the following ReLU (that layer passes them on). */
const reluApplied = new WeakSet<tf.Tensor>();
const fusableByModel = new WeakMap<tf.LayersModel, WeakSet<object>>();

interface LayerGraphLike {
  inboundNodes: unknown[];
  outboundNodes: Array<{ outboundLayer: LayerGraphLike }>;
  getConfig(): Record<string, unknown>;
}

function activationPrototype(): { call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor } {
  return Object.getPrototypeOf(tf.layers.activation({ activation: 'relu' }));
}

/**
 * The BN layers of `model` that can return ReLU(BN(x)) directly: called once, their output
 * consumed only by a ReLU `Activation` layer (called once) and not a model output.
 */
function reluFusableLayers(model: tf.LayersModel): WeakSet<object> {
  let set = fusableByModel.get(model);
  if (set) return set;
  set = new WeakSet();
  const bnProto = batchNormPrototype();
  const actProto = activationPrototype();
  const outputs = new Set<unknown>(model.outputLayers);
  for (const layer of model.layers as unknown as LayerGraphLike[]) {
    if (Object.getPrototypeOf(layer) !== bnProto || outputs.has(layer)) continue;
    if (layer.inboundNodes.length !== 1 || layer.outboundNodes.length !== 1) continue;
    const next = layer.outboundNodes[0].outboundLayer;
    if (Object.getPrototypeOf(next) !== actProto || next.inboundNodes.length !== 1) continue;
    if (next.getConfig().activation !== 'relu') continue;
    set.add(layer);
  }
  fusableByModel.set(model, set);
  return set;
}

function batchNormPrototype(): BatchNormLayerLike {
  const layer = tf.layers.batchNormalization({});
  return Object.getPrototypeOf(layer) as BatchNormLayerLike;
}

/** Installs the (inactive unless patched or scoped) replacement of BatchNormalization.call once. */
function installPatch(): void {
  if (stockCall) return;
  const proto = batchNormPrototype();
  const stock = proto.call;
  stockCall = stock;
  const act = activationPrototype();
  const stockAct = act.call;
  act.call = function (this: unknown, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // ReLU already applied by the fused batch norm before it (withFusedBatchNorm with a model).
    if (scopes > 0 && reluApplied.has(x)) return x;
    return stockAct.call(this, inputs, kwargs);
  };
  proto.call = function (this: BatchNormLayerLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
    const active = explicitPatches > 0 || scopes > 0;
    if (!active || !kwargs?.training || axis !== x.rank - 1 || !this.center || !this.scale) {
      return stock.call(this, inputs, kwargs);
    }
    const relu = scopes > 0 && reluFusable?.has(this) === true;
    const out = tf.tidy(() => {
      const r = batchNormTrainingInternal(
        x,
        this.gamma.read() as tf.Tensor1D,
        this.beta.read() as tf.Tensor1D,
        this.epsilon,
        relu,
      );
      const decay = 1 - this.momentum;
      const stats: PendingStats['stats'] = 'stats' in r ? r.stats : [r.mean, r.variance];
      if (pending) {
        pending.push({
          movingMean: this.movingMean.read() as tf.Variable,
          movingVariance: this.movingVariance.read() as tf.Variable,
          stats: Array.isArray(stats) ? [tf.keep(stats[0]), tf.keep(stats[1])] : tf.keep(stats),
          decay,
        });
        return r.y;
      }
      const [mean, variance] = Array.isArray(stats) ? stats : splitRows(stats);
      for (const [v, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        const orig = v.read();
        v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
      }
      return r.y;
    });
    if (relu) reluApplied.add(out);
    return out;
  };
}

/**
 * Makes tfjs-layers' BatchNormalization use `batchNormTraining` when called with training = true
 * on channels-last inputs with centre and scale (process-wide, every model; inference and other
 * configurations keep the stock path). Moving averages are updated as tfjs-layers does. Opt-in,
 * for measuring: returns a function that undoes this call.
 */
export function patchLayersBatchNorm(): () => void {
  installPatch();
  explicitPatches++;
  let undone = false;
  return () => {
    if (!undone) explicitPatches--;
    undone = true;
  };
}

/** Mean and variance rows of pending statistics (tfjs ops; for the rare per-layer path). */
function statRows(stats: PendingStats['stats']): [tf.Tensor, tf.Tensor] {
  if (Array.isArray(stats)) return stats;
  const c = stats.shape[1] as number;
  return [tf.reshape(tf.slice(stats, [0, 0], [1, c]), [c]), tf.reshape(tf.slice(stats, [1, 0], [1, c]), [c])];
}

/** Moving mean/variance ← m − (m − batch statistic)·(1 − momentum) for every BN layer: one GPU program. */
const EMA = flatShader([], ['decay'], 'let w = W[i]; W[i] = w - (w - G[i]) * u.decay;');

/**
 * The moving-average updates of all batch-norm layers of a step as ONE GPU program (webgpu): the
 * statistics are gathered into a flat buffer and the moving variables updated there (flat-update.ts).
 * Layers with another momentum than the first, or a changed set of layers, rebuild the layout.
 */
export class FlatMovingAverages {
  private flat: FlatVariables | undefined;
  private key: tf.Variable[] = [];

  /** Applies the updates of `stats` (in call order) and disposes the statistics. */
  apply(stats: PendingStats[]): void {
    if (stats.length === 0) return;
    try {
      const decay = stats[0].decay;
      if (stats.some((s) => s.decay !== decay)) {
        // Mixed momenta: per layer, as tfjs-layers (not the case in our models).
        tf.tidy(() => {
          for (const s of stats) {
            const [mean, variance] = statRows(s.stats);
            for (const [v, value] of [
              [s.movingMean, mean],
              [s.movingVariance, variance],
            ] as const) {
              v.assign(tf.sub(v, tf.mul(tf.sub(v, value), s.decay)));
            }
          }
        });
        return;
      }
      const vars = stats.flatMap((s) => [s.movingMean, s.movingVariance]);
      if (!this.flat || vars.length !== this.key.length || vars.some((v, i) => v !== this.key[i])) {
        this.flat?.dispose();
        this.flat = new FlatVariables(vars, 0);
        this.key = vars;
      }
      this.flat.update(
        'FlatMovingAverages',
        EMA,
        stats.flatMap((s): Array<[tf.Tensor, number]> =>
          Array.isArray(s.stats)
            ? [
                [s.stats[0], 0],
                [s.stats[1], 0],
              ]
            : [
                [s.stats, 0],
                [s.stats, s.movingMean.size],
              ],
        ),
        0,
        [decay],
      );
    } finally {
      for (const s of stats) tf.dispose(s.stats);
    }
  }

  dispose(): void {
    this.flat?.dispose();
    this.flat = undefined;
  }
}

/**
 * Runs `fn` (a training step's forward and backward pass) with tfjs-layers' BatchNormalization
 * using `batchNormTraining`; when `movingAverages` is given, all moving-average updates are deferred
 * to the end of `fn` and applied by it in one GPU program; when `model` is given, its BN layers
 * followed only by a ReLU layer compute ReLU(BN(x)) in their own programs (the ReLU layer passes
 * that on). Not re-entrant.
 */
export function withFusedBatchNorm<T>(
  fn: () => T,
  movingAverages?: FlatMovingAverages,
  model?: tf.LayersModel,
): T {
  installPatch();
  if (pending || scopes > 0) throw new Error('withFusedBatchNorm is not re-entrant');
  scopes++;
  reluFusable = model ? reluFusableLayers(model) : null;
  const collected: PendingStats[] = [];
  if (movingAverages) pending = collected;
  try {
    const out = fn();
    pending = null;
    movingAverages?.apply(collected);
    return out;
  } finally {
    pending = null;
    reluFusable = null;
    scopes--;
    for (const s of collected) tf.dispose(s.stats);
  }
}
