/**
 * Backend selection, and one ResNet50 training step on wasm vs webgpu.
 * The webgpu part runs through Dawn on Mesa's lavapipe on CPU-only machines: CI installs it with
 * scripts/ci/install-lavapipe.sh (Mesa ≥ 23; Debian 12 needs bookworm-backports).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from './architectures';
import { initBackend, probeWebGpu } from './backends';
import { ModelError } from './errors';
import { meanLoss } from './losses';
import { Rng } from './rng';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return (e as ModelError).code;
  }
  return undefined;
}

/** Loss and first-conv gradient of one ResNet50 step (focal, seed form) on the current backend. */
async function resnet50Step(x: Float32Array, y: Int32Array): Promise<{ loss: number; gradNorm: number }> {
  const model = createModel({ architecture: 'resnet50', inputSize: 64, seed: 5 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const out = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        meanLoss(
          { kind: 'focal-seed', alpha: 2, gamma: 2 },
          model.apply(tf.tensor4d(x, [2, 64, 64, 3]), { training: true }) as tf.Tensor2D,
          tf.tensor1d(y, 'int32'),
        ),
      vars,
    );
    return [value, tf.norm(grads[vars[vars.length - 2].name])];
  });
  const [loss, gradNorm] = await Promise.all(out.map(async (t) => (await t.data())[0]));
  tf.dispose(out);
  model.dispose();
  return { loss, gradNorm };
}

describe('backends', () => {
  it('rejects unknown names and explains a missing tfjs-node', async () => {
    expect(await codeOf(initBackend('gpu' as never))).toBe('invalid-config');
    let err: unknown;
    try {
      await initBackend('tensorflow');
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe('backend-unavailable');
    expect((err as ModelError).message).toMatch(/@tensorflow\/tfjs-node/);
  });

  it('cpu and wasm initialise and compute the same convolution', async () => {
    const x = Float32Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => Math.sin(i));
    const w = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i));
    const run = (): Float32Array =>
      tf.tidy(
        () =>
          tf
            .conv2d(tf.tensor4d(x, [2, 8, 8, 3]), tf.tensor4d(w, [3, 3, 3, 4]), 1, 'same')
            .dataSync() as Float32Array,
      );
    expect(await initBackend('cpu')).toEqual({ backend: 'cpu' });
    const a = run();
    expect(await initBackend('wasm')).toEqual({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    const b = run();
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i], 4));
  });

  it('auto picks webgpu only on a hardware adapter, else wasm', async () => {
    const probe = await probeWebGpu();
    const info = await initBackend('auto');
    expect(info.backend).toBe(probe && !probe.software ? 'webgpu' : 'wasm');
  });

  it('one ResNet50 training step at 64 px: wasm and webgpu (lavapipe or GPU) agree on the loss', async () => {
    const rng = new Rng(1);
    const x = Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rng.normal());
    const y = Int32Array.from([0, 1]);

    await initBackend('wasm');
    const onWasm = await resnet50Step(x, y);
    const gpu = await initBackend('webgpu');
    expect(gpu.adapter).toBeTruthy();
    const onGpu = await resnet50Step(x, y);
    await initBackend('wasm');

    expect(Number.isFinite(onWasm.loss)).toBe(true);
    expect(Math.abs(onGpu.loss - onWasm.loss) / onWasm.loss).toBeLessThan(1e-3);
    expect(Math.abs(onGpu.gradNorm - onWasm.gradNorm) / onWasm.gradNorm).toBeLessThan(2e-2);
  }, 180_000);
});
