import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

type Msg = { type: string; [k: string]: unknown };

/** Runs the fixture in a Worker (TypeScript through tsx's CommonJS loader) until it posts done or error. */
function runWorker(epochs: number, onMessage: (m: Msg, w: Worker) => void): Promise<Msg[]> {
  const worker = new Worker(path.join(__dirname, '..', 'test', 'train-worker.entry.cjs'), {
    workerData: { epochs },
  });
  const seen: Msg[] = [];
  return new Promise((resolve, reject) => {
    worker.on('message', (m: Msg) => {
      seen.push(m);
      onMessage(m, worker);
      if (m.type === 'done' || m.type === 'error') void worker.terminate().then(() => resolve(seen));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!seen.some((m) => m.type === 'done' || m.type === 'error'))
        reject(new Error(`worker exited with ${code}`));
    });
  });
}

describe('trainModel inside a worker_threads Worker', () => {
  it('trains on wasm and streams per-batch progress to the parent', async () => {
    const msgs = await runWorker(2, () => undefined);
    expect(msgs.filter((m) => m.type === 'batch')).toHaveLength(8);
    expect(msgs.filter((m) => m.type === 'epoch').map((m) => m.epoch)).toEqual([1, 2]);
    expect(msgs[msgs.length - 1]).toEqual({ type: 'done', backend: 'wasm', epochs: 2 });
  }, 60_000);

  it('cancels from the parent through a message (AbortSignal inside the worker)', async () => {
    const msgs = await runWorker(50, (m, w) => {
      if (m.type === 'batch' && m.epoch === 1 && m.batch === 1) w.postMessage({ type: 'cancel' });
    });
    const last = msgs[msgs.length - 1];
    expect(last.type).toBe('error');
    expect(last.code).toBe('aborted');
    expect(msgs.filter((m) => m.type === 'epoch').length).toBeLessThan(50);
  }, 60_000);
});
