/**
 * Batch normalisation for training (per-channel batch statistics, channels last) as one custom-
 * gradient op, instead of tfjs-layers' composite `moments` + `batchNormalization` whose gradient
 * is taken op by op. Forward: mean, biased variance, then the backend's FusedBatchNorm. Backward,
 * with x̂ = (x − μ)·r, r = 1/√(σ² + ε), M = elements per channel:
 *   ∂β = Σdy    ∂γ = r·Σdy(x − μ)    ∂x = γr·(dy − Σdy/M − (x − μ)·r²·Σdy(x − μ)/M)
 * (the statistics' own gradients folded in, as in tf.nn.fused_batch_norm's training gradient).
 * Works on every backend; on webgpu the gradient's elementwise parts are two WGSL programs.
 * Not yet used by the model builder (architectures.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ElementwiseProgram } from './fused-adam';

type TensorInfo = tf.TensorInfo;
interface WebGpuBackendLike {
  runWebGPUProgram(
    program: unknown,
    inputs: TensorInfo[],
    dtype: string,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): TensorInfo;
}
type Args = {
  inputs: Record<string, TensorInfo>;
  backend: WebGpuBackendLike;
  attrs: Record<string, unknown>;
};

let registered = false;

/**
 * Registers the webgpu kernels of the batch-norm gradient: ∂x in one program (per-channel factors
 * computed inline) and ∂γ = r·Σdy(x − μ) in one. Idempotent; needs the webgpu backend loaded.
 */
export function registerWebGpuBatchNormTraining(): void {
  if (registered) return;
  tf.registerKernel({
    kernelName: 'FundusBatchNormGradX',
    backendName: 'webgpu',
    kernelFunc: (({ inputs, backend, attrs }: Args) => {
      const shape = inputs.dy.shape;
      const prog = new ElementwiseProgram(
        shape,
        ['DY', 'X', 'M', 'V', 'G', 'SDY', 'SDX'],
        'channels : i32, eps : f32, invCount : f32,',
        `let c = index % uniforms.channels;
          let rs = inverseSqrt(V[c] + uniforms.eps);
          let xc = X[index] - M[c];
          let r = G[c] * rs * (DY[index] - SDY[c] * uniforms.invCount - xc * (rs * rs * SDX[c] * uniforms.invCount));`,
        'fundus_bn_grad_x',
      );
      const { dy, x, mean, variance, gamma, sumDy, sumDyXc } = inputs;
      return backend.runWebGPUProgram(prog, [dy, x, mean, variance, gamma, sumDy, sumDyXc], 'float32', [
        { type: 'int32', data: [shape[shape.length - 1]] },
        { type: 'float32', data: [attrs.epsilon as number] },
        { type: 'float32', data: [1 / (attrs.count as number)] },
      ]);
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: 'FundusBatchNormGradGamma',
    backendName: 'webgpu',
    kernelFunc: (({ inputs, backend, attrs }: Args) => {
      const prog = new ElementwiseProgram(
        inputs.sumDyXc.shape,
        ['S', 'V'],
        'eps : f32,',
        'let r = S[index] * inverseSqrt(V[index] + uniforms.eps);',
        'fundus_bn_grad_gamma',
      );
      return backend.runWebGPUProgram(prog, [inputs.sumDyXc, inputs.variance], 'float32', [
        { type: 'float32', data: [attrs.epsilon as number] },
      ]);
    }) as unknown as tf.KernelFunc,
  });
  registered = true;
}

/** Output of `batchNormTraining`: normalised y (x's shape) and the batch statistics [C]. */
export interface BatchNormTrainingResult {
  y: tf.Tensor;
  /** Batch mean per channel (no gradient; for moving averages). */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (as tfjs-layers uses for its moving variance). */
  variance: tf.Tensor1D;
}

/**
 * Normalises x [..., C] over all axes but the last with batch statistics, then scales by gamma and
 * shifts by beta (both [C]). Differentiable in x, gamma and beta.
 * @param epsilon added to the variance (> 0), e.g. 1.001e-5 as Keras' ResNet50
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainingResult {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = x.size / x.shape[x.rank - 1];
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const m = tf.mean(xi, axes) as tf.Tensor1D;
    const v = tf.mean(tf.square(tf.sub(xi, m)), axes) as tf.Tensor1D;
    const y = tf.batchNorm(xi, m, v, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    save([xi, m, v, g]);
    mean = tf.keep(m);
    variance = tf.keep(v);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ms, vs, gs] = saved;
        const xc = tf.sub(xs, ms);
        const sumDy = tf.sum(dy, axes);
        const sumDyXc = tf.sum(tf.mul(dy, xc), axes);
        if (registered && tf.getBackend() === 'webgpu') {
          const e = tf.engine();
          const attrs = { epsilon, count } as unknown as tf.NamedAttrMap;
          const dx = e.runKernel(
            'FundusBatchNormGradX',
            { dy, x: xs, mean: ms, variance: vs, gamma: gs, sumDy, sumDyXc },
            attrs,
          ) as tf.Tensor;
          const dg = e.runKernel('FundusBatchNormGradGamma', { sumDyXc, variance: vs }, attrs) as tf.Tensor;
          return [dx, dg, sumDy];
        }
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
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
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

/**
 * Makes tfjs-layers' BatchNormalization use `batchNormTraining` when called with training = true
 * on channels-last inputs with centre and scale (process-wide, every model; inference and other
 * configurations keep the stock path). Moving averages are updated as tfjs-layers does. Opt-in,
 * for measuring: returns a function that restores the stock layer.
 */
export function patchLayersBatchNorm(): () => void {
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as BatchNormLayerLike;
  const stock = proto.call;
  proto.call = function (this: BatchNormLayerLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
    if (!kwargs?.training || axis !== x.rank - 1 || !this.center || !this.scale) {
      return stock.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const r = batchNormTraining(
        x,
        this.gamma.read() as tf.Tensor1D,
        this.beta.read() as tf.Tensor1D,
        this.epsilon,
      );
      const decay = 1 - this.momentum;
      for (const [v, value] of [
        [this.movingMean, r.mean],
        [this.movingVariance, r.variance],
      ] as const) {
        const orig = v.read();
        v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
      }
      tf.dispose([r.mean, r.variance]);
      return r.y;
    });
  };
  return () => {
    proto.call = stock;
  };
}
