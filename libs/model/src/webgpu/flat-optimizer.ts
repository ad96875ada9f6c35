/**
 * The project's optimizers (optimizers.ts: Adam with decoupled weight decay, SGD with momentum and
 * L2) as ONE compute dispatch per step over all variables (flat-update.ts), on the webgpu backend.
 * Same formulas in the same order of operations as `Optimizer`, same serialisable state
 * (`getState`/`setState` are interchangeable with it), so checkpoints move between the two.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptimizerState, type OptimizerConfig, type OptimizerState } from '../optimizers';
import { FlatVariables, flatShader } from './flat-update';

const ADAM = flatShader(
  ['M', 'V'],
  ['lr', 'c1', 'c2', 'eps', 'wd', 'b1', 'omb1', 'b2', 'omb2'],
  `let g = G[i];
    let m = M[i] * u.b1 + g * u.omb1;
    let v = V[i] * u.b2 + (g * g) * u.omb2;
    M[i] = m;
    V[i] = v;
    let w = W[i];
    var upd = (m / u.c1) / (sqrt(v / u.c2) + u.eps);
    if (i < u.split) { upd = upd + w * u.wd; }
    W[i] = w - upd * u.lr;`,
);

const SGD = flatShader(
  ['B'],
  ['lr', 'wd', 'mom', 'nesterov'],
  `let w = W[i];
    var g = G[i];
    if (i < u.split) { g = g + w * u.wd; }
    let b = B[i] * u.mom + g;
    B[i] = b;
    var d = b;
    if (u.nesterov > 0.5) { d = g + b * u.mom; }
    W[i] = w - d * u.lr;`,
);

function decays(name: string): boolean {
  return /kernel$/.test(name);
}

/** `Optimizer`'s interface, fused: one GPU program per step. Needs the webgpu backend. */
export class FlatOptimizer {
  private step = 0;
  private readonly flat: FlatVariables;
  /** order[j] = index (in the caller's order) of the j-th variable in the flat layout. */
  private readonly order: number[];
  private readonly split: number;

  constructor(
    private readonly cfg: OptimizerConfig,
    private readonly vars: tf.Variable[],
    private readonly names: string[],
    private readonly weightDecay: number,
  ) {
    // Decayed variables first, so weight decay applies to elements [0, split).
    const idx = vars.map((_, i) => i);
    this.order =
      weightDecay > 0
        ? [...idx.filter((i) => decays(names[i])), ...idx.filter((i) => !decays(names[i]))]
        : idx;
    this.flat = new FlatVariables(
      this.order.map((i) => vars[i]),
      cfg.kind === 'adam' ? 2 : 1,
    );
    const nDecay = weightDecay > 0 ? this.order.filter((i) => decays(names[i])).length : 0;
    this.split = nDecay < this.order.length ? this.flat.offsets[nDecay] : this.flat.total;
  }

  /** Applies one update. `grads[i]` is the gradient of vars[i]; lr is this step's learning rate. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step++;
    const t = this.step;
    const g = this.order.map((i) => grads[i]);
    if (this.cfg.kind === 'adam') {
      const b1 = this.cfg.beta1 ?? 0.9;
      const b2 = this.cfg.beta2 ?? 0.999;
      const eps = this.cfg.epsilon ?? 1e-7;
      this.flat.update('FlatAdam', ADAM, g, this.split, [
        lr,
        1 - Math.pow(b1, t),
        1 - Math.pow(b2, t),
        eps,
        this.weightDecay,
        b1,
        1 - b1,
        b2,
        1 - b2,
      ]);
    } else {
      this.flat.update('FlatSgd', SGD, g, this.split, [
        lr,
        this.weightDecay,
        this.cfg.momentum ?? 0.9,
        this.cfg.nesterov ? 1 : 0,
      ]);
    }
  }

  /** Reads the state into plain arrays (same format as `Optimizer.getState`). */
  async getState(): Promise<OptimizerState> {
    const perSlot: Float32Array[][] = [];
    for (let k = 0; k < this.flat.slots.length; k++) perSlot.push(await this.flat.readSlot(k));
    const slots: Float32Array[][] = this.vars.map(() => []);
    this.order.forEach((i, j) => {
      slots[i] = perSlot.map((s) => s[j]);
    });
    return { kind: this.cfg.kind, step: this.step, slots, names: [...this.names] };
  }

  /**
   * Restores state from `getState` (of this class or of `Optimizer`).
   * @throws ModelError `incompatible-checkpoint` when kind, variable names or sizes differ.
   */
  setState(state: OptimizerState): void {
    checkOptimizerState(
      state,
      this.cfg.kind,
      this.names,
      this.vars.map((v) => v.size),
      this.flat.slots.length,
    );
    for (let k = 0; k < this.flat.slots.length; k++) {
      const arrays = this.order.map((i) => state.slots[i][k]);
      this.flat.writeSlot(k, arrays);
    }
    this.step = state.step;
  }

  dispose(): void {
    this.flat.dispose();
  }
}
