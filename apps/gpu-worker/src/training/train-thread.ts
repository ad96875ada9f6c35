/**
 * Worker-thread entry of a training run: tfjs work blocks its event loop, so it must not run on the
 * main thread, whose loop renews the BullMQ job lock. Cancellation arrives through a shared flag,
 * checked at every batch boundary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTraining, type TrainingInput } from './training-pipeline';

const { input, abortFlag } = workerData as { input: TrainingInput; abortFlag: SharedArrayBuffer };
const flag = new Int32Array(abortFlag);
const controller = new AbortController();
const port = parentPort!;

/**
 * Median stopping: after an epoch's event the main thread answers with flag[1] = epoch * 2 + stop.
 * Blocking here is fine (this thread only trains); a cancel or a silent main thread means continue.
 */
function verdict(epoch: number): boolean {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const v = Atomics.load(flag, 1);
    if (v >= epoch * 2) return v === epoch * 2 + 1;
    if (Atomics.load(flag, 0) !== 0 || Date.now() > deadline) return false;
    Atomics.wait(flag, 1, v, 500);
  }
}

runTraining(
  input,
  (event) => {
    if (Atomics.load(flag, 0) !== 0 && !controller.signal.aborted) controller.abort();
    port.postMessage({ kind: 'event', event });
  },
  controller.signal,
  input.medianStopping ? verdict : undefined,
).then(
  (output) => port.postMessage({ kind: 'done', output }),
  (err: Error & { code?: string }) =>
    port.postMessage({
      kind: 'error',
      error: { name: err.name, code: err.code, message: err.message, stack: err.stack },
    }),
);
