/**
 * Adam (with decoupled weight decay, as `optimizers.ts`) in 3 GPU programs per variable instead of
 * ~13: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·((m/c₁)/(√(v/c₂)+ε) + wd·w), with
 * c₁ = 1−β₁ᵗ, c₂ = 1−β₂ᵗ. On the `webgpu` backend each line is one WGSL program; on other backends
 * it falls back to the same maths in tfjs ops. Same formula, same order of operations as
 * `Optimizer` (kind `adam`), so the two agree to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGpuProgramRunner } from './raw';

type TensorInfo = tf.TensorInfo;

const WORKGROUP = 128;

/**
 * An elementwise WGSL program over float32 inputs read by flat index (same-shape inputs as
 * `X[index]`, per-channel ones as `C[index % channels]`); `body` sets `r`.
 */
export class ElementwiseProgram {
  readonly variableNames: string[];
  readonly size = true;
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    shape: number[],
    names: string[],
    uniforms: string,
    private readonly body: string,
    key: string,
  ) {
    this.variableNames = names;
    this.uniforms = uniforms;
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const n = shape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(n / WORKGROUP), 1, 1];
    this.shaderKey = key;
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
          setOutputAtIndex(index, r);
        }
      }`;
  }
}

let registered = false;

/** Registers the fused Adam kernels for the webgpu backend. Idempotent; needs the backend loaded. */
export function registerWebGpuFusedAdam(): void {
  if (registered) return;
  tf.registerKernel({
    kernelName: 'FundusAdamMoment',
    backendName: 'webgpu',
    kernelFunc: (({
      inputs,
      backend,
      attrs,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: WebGpuProgramRunner;
      attrs: Record<string, unknown>;
    }) => {
      const square = attrs.square === true;
      const prog = new ElementwiseProgram(
        inputs.s.shape,
        ['S', 'G'],
        'beta : f32, oneMinusBeta : f32,',
        `let g = G[index];
          let r = S[index] * uniforms.beta + ${square ? 'g * g' : 'g'} * uniforms.oneMinusBeta;`,
        `fundus_adam_moment_${square}`,
      );
      const beta = attrs.beta as number;
      return backend.runWebGPUProgram(prog, [inputs.s, inputs.g], 'float32', [
        { type: 'float32', data: [beta] },
        { type: 'float32', data: [1 - beta] },
      ]);
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: 'FundusAdamApply',
    backendName: 'webgpu',
    kernelFunc: (({
      inputs,
      backend,
      attrs,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: WebGpuProgramRunner;
      attrs: Record<string, unknown>;
    }) => {
      const decay = (attrs.weightDecay as number) > 0;
      const prog = new ElementwiseProgram(
        inputs.w.shape,
        ['W', 'M', 'V'],
        'lr : f32, c1 : f32, c2 : f32, eps : f32, wd : f32,',
        `let w = W[index];
          var u = (M[index] / uniforms.c1) / (sqrt(V[index] / uniforms.c2) + uniforms.eps);
          ${decay ? 'u = u + w * uniforms.wd;' : ''}
          let r = w - u * uniforms.lr;`,
        `fundus_adam_apply_${decay}`,
      );
      const f = (k: string): { type: string; data: number[] } => ({
        type: 'float32',
        data: [attrs[k] as number],
      });
      return backend.runWebGPUProgram(prog, [inputs.w, inputs.m, inputs.v], 'float32', [
        f('lr'),
        f('c1'),
        f('c2'),
        f('eps'),
        f('weightDecay'),
      ]);
    }) as unknown as tf.KernelFunc,
  });
  registered = true;
}

/** Adam settings; defaults as `optimizers.ts` (β₁ 0.9, β₂ 0.999, ε 1e-7). */
export interface FusedAdamConfig {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam over a list of variables with state kept on the device; weight decay applies to variables
 * whose name ends in `kernel` (as `Optimizer`). Call `dispose()` when done.
 */
export class FusedAdam {
  private step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    private readonly vars: tf.Variable[],
    private readonly names: string[],
    private readonly cfg: FusedAdamConfig = {},
    private readonly weightDecay = 0,
  ) {
    this.m = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  /** One update; `grads[i]` is the gradient of vars[i], `lr` this step's learning rate (> 0). */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step++;
    const b1 = this.cfg.beta1 ?? 0.9;
    const b2 = this.cfg.beta2 ?? 0.999;
    const eps = this.cfg.epsilon ?? 1e-7;
    const c1 = 1 - Math.pow(b1, this.step);
    const c2 = 1 - Math.pow(b2, this.step);
    const fused = tf.getBackend() === 'webgpu' && registered;
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        const g = grads[i];
        const wd = this.weightDecay > 0 && /kernel$/.test(this.names[i]) ? this.weightDecay : 0;
        if (fused) {
          const e = tf.engine();
          const m1 = e.runKernel(
            'FundusAdamMoment',
            { s: this.m[i], g },
            { beta: b1, square: false },
          ) as tf.Tensor;
          const v1 = e.runKernel(
            'FundusAdamMoment',
            { s: this.v[i], g },
            { beta: b2, square: true },
          ) as tf.Tensor;
          this.m[i].assign(m1);
          this.v[i].assign(v1);
          w.assign(
            e.runKernel('FundusAdamApply', { w, m: m1, v: v1 }, {
              lr,
              c1,
              c2,
              eps,
              weightDecay: wd,
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
          );
        } else {
          const m1 = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
          const v1 = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
          this.m[i].assign(m1);
          this.v[i].assign(v1);
          let upd = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), eps));
          if (wd > 0) upd = tf.add(upd, tf.mul(w, wd));
          w.assign(tf.sub(w, tf.mul(upd, lr)));
        }
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
