/**
 * withoutImageInputGradient: which convolutions skip their input gradient (the image's, and any
 * behind frozen layers — recomputed as trainability changes), and that every weight gradient stays
 * what tfjs computes (webgpu on lavapipe where there is no GPU).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { countKernels, forceConvInputGradProgram } from '.';
import { imageInputConvs, withoutImageInputGradient } from './input-conv';
import { errorStats } from '../spec-helpers';

function smallModel(): { model: tf.LayersModel; a: tf.layers.Layer; b: tf.layers.Layer } {
  const input = tf.input({ shape: [12, 12, 3] });
  const a = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'a' });
  const b = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'valid', useBias: false, name: 'b' });
  const pooled = tf.layers
    .globalAveragePooling2d({})
    .apply(b.apply(tf.layers.activation({ activation: 'relu' }).apply(a.apply(input)))) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'head' }).apply(pooled) as tf.SymbolicTensor;
  return { model: tf.model({ inputs: input, outputs: out }), a, b };
}

describe('withoutImageInputGradient', () => {
  beforeAll(async () => {
    await initBackend('webgpu');
  });

  it('picks the convolutions whose input depends on no trainable weight, following trainability', () => {
    const { model, a, b } = smallModel();
    expect([imageInputConvs(model).has(a), imageInputConvs(model).has(b)]).toEqual([true, false]);
    a.trainable = false;
    expect([imageInputConvs(model).has(a), imageInputConvs(model).has(b)]).toEqual([true, true]);
    a.trainable = true;
    expect(imageInputConvs(model).has(b)).toBe(false);
    model.dispose();
  });

  it('gives the same weight gradients with one input gradient fewer', async () => {
    const { model } = smallModel();
    const rng = new Rng(4);
    for (const w of model.trainableWeights) {
      const v = w.read();
      w.write(
        tf.tensor(
          Float32Array.from({ length: v.size }, () => rng.normal() * 0.3),
          v.shape,
        ),
      );
    }
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 12 * 12 * 3 }, () => rng.normal()),
      [2, 12, 12, 3],
    );
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const grads = async (skip: boolean): Promise<{ g: Float32Array[]; programs: Map<string, number> }> => {
      const { result, count } = await countKernels(async () => {
        const f = (): { value: tf.Scalar; grads: tf.NamedTensorMap } =>
          tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)), vars);
        const { value, grads: gs } = skip ? withoutImageInputGradient(model, f) : f();
        const out = await Promise.all(vars.map(async (v) => (await gs[v.name].data()) as Float32Array));
        tf.dispose([value, ...Object.values(gs)]);
        return out;
      });
      return { g: result, programs: count.byProgram };
    };
    // Every input gradient through one tfjs program, so each is one countable program.
    forceConvInputGradProgram('tiled');
    const stock = await grads(false).finally(() => forceConvInputGradProgram(null));
    forceConvInputGradProgram('tiled');
    const skipped = await grads(true).finally(() => forceConvInputGradProgram(null));
    skipped.g.forEach((g, k) => {
      const { maxErr, maxRef } = errorStats(g, stock.g[k]);
      expect(maxRef).toBeGreaterThan(0);
      expect(maxErr / maxRef).toBeLessThan(1e-5);
    });
    const dx = (p: Map<string, number>): number =>
      (p.get('Conv2DDerInputProgram') ?? 0) + (p.get('Conv2DDerInputMMProgram') ?? 0);
    expect(dx(stock.programs)).toBe(2);
    expect(dx(skipped.programs)).toBe(1);
    x.dispose();
    model.dispose();
  });
});
