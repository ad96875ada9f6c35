import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { generateFundus, preprocess } from '@fundus/imaging';
import { createModel, type ModelConfig } from '../architectures';
import { predictProbabilities } from '../predict';
import { Rng } from '../rng';
import { exportOnnx, OnnxExportError, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './export';
import { randomiseStatistics } from '../spec-helpers';

/**
 * Runs the graph on ONNX Runtime's CPU provider in a worker thread: onnxruntime-node's native
 * binding builds its typed arrays in Node's own realm, which Jest's sandboxed realm rejects.
 */
const ORT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');
(async () => {
  const { bytes, x, dims, input, output } = workerData;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  const res = await session.run({ [input]: new ort.Tensor('float32', x, dims) });
  parentPort.postMessage({ data: Array.from(res[output].data), dims: res[output].dims });
  await session.release();
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

async function ortProbabilities(
  bytes: Uint8Array,
  x: Float32Array,
  n: number,
  s: number,
): Promise<Float32Array> {
  const worker = new Worker(ORT_WORKER, {
    eval: true,
    workerData: { bytes, x, dims: [n, s, s, 3], input: ONNX_INPUT_NAME, output: ONNX_OUTPUT_NAME },
  });
  try {
    const msg = await new Promise<{ data?: number[]; dims?: number[]; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (msg.error !== undefined) throw new Error(msg.error);
    expect(msg.dims).toEqual([n, 2]);
    return Float32Array.from(msg.data!);
  } finally {
    await worker.terminate();
  }
}

async function expectSameAsTfjs(model: tf.LayersModel, x: Float32Array, n: number, s: number): Promise<void> {
  const prob = await ortProbabilities(exportOnnx(model), x, n, s);
  const p1 = await predictProbabilities(model, x, n);
  for (let i = 0; i < n; i++) {
    expect(Math.abs(prob[2 * i + 1] - p1[i])).toBeLessThan(1e-4);
    expect(Math.abs(prob[2 * i] - (1 - p1[i]))).toBeLessThan(1e-4);
  }
}

function randomImages(n: number, s: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n * s * s * 3);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

async function fundusImages(n: number, s: number): Promise<Float32Array> {
  const x = new Float32Array(n * s * s * 3);
  for (let i = 0; i < n; i++) {
    const jpeg = await generateFundus({ seed: 100 + i, size: 96, disease: i % 2 === 1 });
    const { data } = await preprocess(jpeg, { size: s });
    x.set(data, i * s * s * 3);
  }
  return x;
}

const CASES: Array<Partial<ModelConfig> & { inputSize: number }> = [
  { architecture: 'tiny-resnet', inputSize: 24, seed: 1 },
  { architecture: 'tiny-resnet', inputSize: 17, seed: 2, widths: [4, 8], blocksPerStage: 2 },
  { architecture: 'resnet18', inputSize: 32, seed: 3 },
  { architecture: 'resnet50', inputSize: 32, seed: 4 },
];

describe('exportOnnx', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  describe.each(CASES)('$architecture at $inputSize px', (cfg) => {
    let model: tf.LayersModel;
    beforeAll(() => {
      model = createModel(cfg);
      randomiseStatistics(model, cfg.seed ?? 0);
    });
    afterAll(() => model.dispose());

    it('matches tfjs probabilities on random tensors (dynamic batch 1 and 3)', async () => {
      await expectSameAsTfjs(model, randomImages(1, cfg.inputSize, 7), 1, cfg.inputSize);
      await expectSameAsTfjs(model, randomImages(3, cfg.inputSize, 8), 3, cfg.inputSize);
    });

    it('matches tfjs probabilities on synthetic fundus images', async () => {
      await expectSameAsTfjs(model, await fundusImages(2, cfg.inputSize), 2, cfg.inputSize);
    });
  });

  it('folds batch norm: the graph has no BatchNormalization, Mul or standalone bias ops', () => {
    const model = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed: 5 });
    const text = Buffer.from(exportOnnx(model)).toString('latin1');
    model.dispose();
    expect(text).not.toContain('BatchNormalization');
    expect(text).not.toContain('Mul');
    expect(text).toContain('Conv');
  });

  it('rejects layers it cannot express, naming the layer', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const out = tf.layers
      .conv2d({ filters: 2, kernelSize: 3, activation: 'tanh', name: 'odd_conv' })
      .apply(input);
    const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
    let err: unknown;
    try {
      exportOnnx(model);
    } catch (e) {
      err = e;
    }
    model.dispose();
    expect(err).toBeInstanceOf(OnnxExportError);
    expect((err as OnnxExportError).code).toBe('unsupported-layer');
    expect((err as OnnxExportError).message).toContain('odd_conv');
  });
});
