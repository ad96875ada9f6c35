/**
 * Worker-thread entry used by worker-thread.spec.ts: trains a tiny ResNet with trainModel inside a
 * worker_threads Worker, posting progress per batch and accepting a cancel message — the shape the
 * gpu-worker's training job will have.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createModel, initBackend, ModelError, trainModel } from '../src';
import { SpotData } from '../src/spec-helpers';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('not in a worker');
  const ac = new AbortController();
  port.on('message', (m: { type: string }) => {
    if (m.type === 'cancel') ac.abort();
  });
  const info = await initBackend('wasm');
  const model = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed: 1, widths: [4, 8] });
  try {
    const res = await trainModel({
      model,
      train: new SpotData({ n: 32, size: 16, seed: 1 }),
      val: new SpotData({ n: 16, size: 16, seed: 2 }),
      config: {
        loss: { kind: 'cross-entropy' },
        optimizer: { kind: 'adam' },
        learningRate: 3e-3,
        epochs: workerData.epochs,
        batchSize: 8,
        seed: 1,
      },
      signal: ac.signal,
      callbacks: {
        onBatchEnd: (b) => port.postMessage({ type: 'batch', epoch: b.epoch, batch: b.batch, loss: b.loss }),
        onEpochEnd: (r) => port.postMessage({ type: 'epoch', epoch: r.epoch, valAuc: r.valAuc }),
      },
    });
    port.postMessage({ type: 'done', backend: info.backend, epochs: res.history.length });
  } catch (err) {
    port.postMessage({
      type: 'error',
      code: err instanceof ModelError ? err.code : 'unknown',
      message: (err as Error).message,
    });
  } finally {
    model.dispose();
  }
}

void main();
