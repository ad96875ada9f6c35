/**
 * compileInference (batch norm folded into the convolutions, ReLU fused, pads folded) against the
 * layers model's own inference forward, on cpu and on webgpu (lavapipe where there is no GPU), with
 * non-trivial batch-norm statistics; and predictProbabilities' fallback for models it cannot compile.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel, type Architecture } from './architectures';
import { initBackend } from './backends';
import { ModelError } from './errors';
import { compileInference, tryCompileInference } from './inference';
import { predictProbabilities } from './predict';
import { Rng } from './rng';
import { randomiseStatistics, relativeError } from './spec-helpers';
import { countKernels } from './webgpu';

function images(n: number, s: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * s * s * 3 }, () => rng.normal());
}

async function both(
  model: tf.LayersModel,
  x: Float32Array,
  s: number,
): Promise<[Float32Array, Float32Array]> {
  const n = x.length / (s * s * 3);
  const graph = compileInference(model);
  try {
    const [a, b] = tf.tidy(() => {
      const input = tf.tensor4d(x, [n, s, s, 3]);
      return [graph.logits(input), model.apply(input, { training: false }) as tf.Tensor];
    });
    const out: [Float32Array, Float32Array] = [
      (await a.data()) as Float32Array,
      (await b.data()) as Float32Array,
    ];
    tf.dispose([a, b]);
    return out;
  } finally {
    graph.dispose();
  }
}

const CASES: Array<[Architecture, number, number]> = [
  // architecture, input size, folded layers (BN + ReLU right after BN + pads feeding only convs)
  ['tiny-resnet', 32, 0],
  ['resnet18', 32, 0],
  ['resnet50', 32, 53 + 33 + 1],
];

describe('compileInference', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each(CASES)(
    '%s at %i px: logits equal the layers model to 1e-4 on cpu',
    async (arch, s, foldedExpected) => {
      const model = createModel({ architecture: arch, inputSize: s, seed: 4 });
      randomiseStatistics(model, 9);
      const before = tf.memory().numTensors;
      const [got, ref] = await both(model, images(3, s, 2), s);
      expect(relativeError(got, ref)).toBeLessThan(1e-4);
      // Folding really happened where expected (tiny-resnet/resnet18 counts checked below).
      const graph = compileInference(model);
      if (foldedExpected > 0) expect(graph.folded).toBe(foldedExpected);
      else expect(graph.folded).toBeGreaterThan(0);
      graph.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    },
    120_000,
  );

  it("predictProbabilities (through the folded graph) gives the layers model's probabilities", async () => {
    const model = createModel({ architecture: 'resnet18', inputSize: 32, seed: 5 });
    randomiseStatistics(model, 3, 0.5);
    const x = images(5, 32, 8);
    const p = await predictProbabilities(model, x, 2);
    const ref = tf.tidy(() =>
      tf
        .softmax(model.apply(tf.tensor4d(x, [5, 32, 32, 3]), { training: false }) as tf.Tensor2D)
        .slice([0, 1], [-1, 1]),
    );
    const r = (await ref.data()) as Float32Array;
    ref.dispose();
    for (let i = 0; i < 5; i++) expect(p[i]).toBeCloseTo(r[i], 5);
    // A caller's compiled graph (the scoring thread compiles once per loaded model) is used and kept.
    const graph = tryCompileInference(model)!;
    const kept = tf.memory().numTensors;
    const again = await predictProbabilities(model, x, 2, graph);
    const third = await predictProbabilities(model, x, 3, graph);
    expect(Array.from(again)).toEqual(Array.from(p));
    expect(Array.from(third)).toEqual(Array.from(p));
    expect(tf.memory().numTensors).toBe(kept);
    graph.dispose();
    model.dispose();
  });

  it('refuses what it cannot fold (unsupported-model), and predictProbabilities falls back to the layers model', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const conv = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, activation: 'tanh' })
      .apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor;
    const odd = tf.model({ inputs: input, outputs: out });
    const before = tf.memory().numTensors;
    expect(() => compileInference(odd)).toThrow(ModelError);
    try {
      compileInference(odd);
    } catch (err) {
      expect((err as ModelError).code).toBe('unsupported-model');
    }
    expect(tryCompileInference(odd)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
    const x = images(3, 8, 1);
    const p = await predictProbabilities(odd, x);
    const ref = tf.tidy(() =>
      tf.softmax(odd.predict(tf.tensor4d(x, [3, 8, 8, 3])) as tf.Tensor2D).slice([0, 1], [-1, 1]),
    );
    const r = (await ref.data()) as Float32Array;
    ref.dispose();
    for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(r[i], 6);
    odd.dispose();
  });

  it('on webgpu: ResNet50 logits equal the layers model to 1e-4, with 86 fewer GPU programs per forward', async () => {
    await initBackend('webgpu');
    const model = createModel({ architecture: 'resnet50', inputSize: 32, seed: 4 });
    randomiseStatistics(model, 9);
    const x = images(2, 32, 3);
    const [got, ref] = await both(model, x, 32);
    expect(relativeError(got, ref)).toBeLessThan(1e-4);
    const graph = compileInference(model);
    const input = tf.tensor4d(x, [2, 32, 32, 3]);
    const count = async (f: () => tf.Tensor): Promise<number> =>
      (
        await countKernels(async () => {
          const y = f();
          await y.data();
          y.dispose();
        })
      ).count.total;
    const folded = await count(() => graph.logits(input));
    const layers = await count(() => model.apply(input, { training: false }) as tf.Tensor);
    // 53 batch norms and 33 ReLUs run inside the convolutions; the stem's pad is the conv's padding.
    expect(layers - folded).toBeGreaterThanOrEqual(53 + 33);
    tf.dispose(input);
    graph.dispose();
    model.dispose();
  }, 300_000);
});
