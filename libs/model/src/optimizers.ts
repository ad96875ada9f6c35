/**
 * Optimizers with explicit, serialisable state (for checkpoints) and a learning rate passed per
 * step (for schedules). Adam with decoupled weight decay (AdamW) and SGD with momentum and L2
 * weight decay. Weight decay applies to conv/dense kernels only, never to biases or batch norm.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';

export type OptimizerConfig =
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number }
  | { kind: 'sgd'; momentum?: number; nesterov?: boolean };

/** Plain-data optimizer state: step count and one Float32Array per slot per variable. */
export interface OptimizerState {
  kind: OptimizerConfig['kind'];
  step: number;
  /** slots[i] belongs to variable i (model.trainableWeights order): Adam [m, v], SGD [velocity]. */
  slots: Float32Array[][];
  /** originalName of each variable, to verify a checkpoint matches the model. */
  names: string[];
}

/**
 * Validates an optimizer configuration.
 * @throws ModelError `invalid-config`
 */
export function validateOptimizer(o: OptimizerConfig): OptimizerConfig {
  const bad = (m: string): ModelError => new ModelError('invalid-config', `optimizer: ${m}`);
  if (o?.kind === 'adam') {
    for (const k of ['beta1', 'beta2'] as const) {
      const v = o[k];
      if (v !== undefined && !(v >= 0 && v < 1)) throw bad(`"${k}" must be in [0, 1); got ${String(v)}`);
    }
    if (o.epsilon !== undefined && !(o.epsilon > 0))
      throw bad(`"epsilon" must be > 0; got ${String(o.epsilon)}`);
    return o;
  }
  if (o?.kind === 'sgd') {
    if (o.momentum !== undefined && !(o.momentum >= 0 && o.momentum < 1))
      throw bad(`"momentum" must be in [0, 1); got ${String(o.momentum)}`);
    return o;
  }
  throw bad(`"kind" must be adam or sgd; got "${String((o as { kind?: unknown })?.kind)}"`);
}

function decays(name: string): boolean {
  return /kernel$/.test(name);
}

/** One optimizer bound to a list of variables. Call `dispose()` when done. */
export class Optimizer {
  private step = 0;
  private readonly slots: tf.Variable[][];

  constructor(
    private readonly cfg: OptimizerConfig,
    private readonly vars: tf.Variable[],
    private readonly names: string[],
    private readonly weightDecay: number,
  ) {
    const n = cfg.kind === 'adam' ? 2 : 1;
    this.slots = vars.map((v) =>
      Array.from({ length: n }, () => tf.tidy(() => tf.variable(tf.zerosLike(v), false))),
    );
  }

  /** Applies one update. `grads[i]` is the gradient of vars[i]; lr is this step's learning rate. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step++;
    const t = this.step;
    tf.tidy(() => {
      if (this.cfg.kind === 'adam') {
        const b1 = this.cfg.beta1 ?? 0.9;
        const b2 = this.cfg.beta2 ?? 0.999;
        const eps = this.cfg.epsilon ?? 1e-7;
        const c1 = 1 - Math.pow(b1, t);
        const c2 = 1 - Math.pow(b2, t);
        this.vars.forEach((v, i) => {
          const g = grads[i];
          const [m, s] = this.slots[i];
          const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
          const s1 = tf.add(tf.mul(s, b2), tf.mul(tf.square(g), 1 - b2));
          m.assign(m1);
          s.assign(s1);
          let upd = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(s1, c2)), eps));
          if (this.weightDecay > 0 && decays(this.names[i])) upd = tf.add(upd, tf.mul(v, this.weightDecay));
          v.assign(tf.sub(v, tf.mul(upd, lr)));
        });
      } else {
        const mom = this.cfg.momentum ?? 0.9;
        const nesterov = this.cfg.nesterov ?? false;
        this.vars.forEach((v, i) => {
          let g = grads[i];
          if (this.weightDecay > 0 && decays(this.names[i])) g = tf.add(g, tf.mul(v, this.weightDecay));
          const [buf] = this.slots[i];
          const b1 = tf.add(tf.mul(buf, mom), g);
          buf.assign(b1);
          const d = nesterov ? tf.add(g, tf.mul(b1, mom)) : b1;
          v.assign(tf.sub(v, tf.mul(d, lr)));
        });
      }
    });
  }

  /** Reads the state into plain arrays (for a checkpoint). */
  async getState(): Promise<OptimizerState> {
    const slots: Float32Array[][] = [];
    for (const s of this.slots)
      slots.push(await Promise.all(s.map(async (x) => (await x.data()) as Float32Array)));
    return { kind: this.cfg.kind, step: this.step, slots, names: [...this.names] };
  }

  /**
   * Restores state from `getState`.
   * @throws ModelError `incompatible-checkpoint` when kind, variable names or sizes differ.
   */
  setState(state: OptimizerState): void {
    checkOptimizerState(
      state,
      this.cfg.kind,
      this.names,
      this.vars.map((v) => v.size),
      this.slots[0]?.length ?? 0,
    );
    this.slots.forEach((s, i) =>
      s.forEach((slot, j) => tf.tidy(() => slot.assign(tf.tensor(state.slots[i][j], slot.shape)))),
    );
    this.step = state.step;
  }

  dispose(): void {
    this.slots.forEach((s) => s.forEach((x) => x.dispose()));
  }
}

/**
 * Checks a saved optimizer state against an optimizer: same kind, same variables by name and order,
 * `slotsPerVariable` arrays of the variable's size each.
 * @throws ModelError `incompatible-checkpoint` naming the first difference.
 */
export function checkOptimizerState(
  state: OptimizerState,
  kind: string,
  names: readonly string[],
  sizes: readonly number[],
  slotsPerVariable: number,
): void {
  const bad = (m: string): ModelError => new ModelError('incompatible-checkpoint', `optimizer state: ${m}`);
  if (state.kind !== kind) throw bad(`saved for "${state.kind}", optimizer is "${kind}"`);
  if (state.slots.length !== names.length)
    throw bad(`has ${state.slots.length} variables, model has ${names.length}`);
  state.names.forEach((n, i) => {
    if (n !== names[i]) throw bad(`variable ${i} is "${n}" in the checkpoint but "${names[i]}" in the model`);
  });
  for (let i = 0; i < names.length; i++)
    for (let k = 0; k < slotsPerVariable; k++) {
      const arr = state.slots[i][k];
      if (!arr || arr.length !== sizes[i]) throw bad(`slot ${k} of "${names[i]}" has the wrong size`);
    }
}
