import { extname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TrainingEvent, TrainingInput, TrainingOutput } from './training-pipeline';

export class TrainingThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly threadStack?: string,
  ) {
    super(message);
    this.name = 'TrainingThreadError';
  }
}

/** A training run on its own thread; `abort()` stops it at the next batch boundary. */
export class TrainRunner {
  /** [0] abort flag, [1] median-stopping verdict (epoch * 2 + stop). */
  private readonly flag = new SharedArrayBuffer(8);
  private worker?: Worker;

  abort(): void {
    Atomics.store(new Int32Array(this.flag), 0, 1);
  }

  /** Answers the thread's median-stopping question for `epoch`. */
  verdict(epoch: number, stop: boolean): void {
    const view = new Int32Array(this.flag);
    Atomics.store(view, 1, epoch * 2 + (stop ? 1 : 0));
    Atomics.notify(view, 1);
  }

  get aborted(): boolean {
    return Atomics.load(new Int32Array(this.flag), 0) !== 0;
  }

  run(input: TrainingInput, onEvent: (event: TrainingEvent) => void): Promise<TrainingOutput> {
    // Same extension as this file: .ts under tsx (tests, dev), .js once built. Loader hooks given
    // with --import do not reach worker threads, so a .ts entry registers tsx itself.
    const entry = resolve(__dirname, `train-thread${extname(__filename)}`);
    const options = { workerData: { input, abortFlag: this.flag } };
    return new Promise((res, rej) => {
      const worker =
        extname(entry) === '.ts'
          ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { ...options, eval: true })
          : new Worker(entry, options);
      this.worker = worker;
      let settled = false;
      worker.on(
        'message',
        (msg: {
          kind: string;
          event?: TrainingEvent;
          output?: TrainingOutput;
          error?: { message: string; code?: string; stack?: string };
        }) => {
          if (msg.kind === 'event' && msg.event) onEvent(msg.event);
          else if (msg.kind === 'done') {
            settled = true;
            res(msg.output!);
          } else if (msg.kind === 'error') {
            settled = true;
            rej(new TrainingThreadError(msg.error!.message, msg.error!.code, msg.error!.stack));
          }
        },
      );
      worker.on('error', (err) => {
        if (!settled) rej(err);
        settled = true;
      });
      worker.on('exit', (code) => {
        if (!settled) rej(new TrainingThreadError(`training thread exited with code ${code}`, 'thread-exit'));
        settled = true;
      });
    }).finally(() => {
      void this.worker?.terminate();
    }) as Promise<TrainingOutput>;
  }
}
