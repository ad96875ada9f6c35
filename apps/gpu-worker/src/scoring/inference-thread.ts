/**
 * Worker-thread entry for scoring inference: holds loaded models and answers forward passes, so
 * the main thread's event loop (BullMQ lock renewal, storage, decoding, PostgreSQL) keeps running
 * while a batch is inferred.
 *
 * Messages in: `init {backend}`, `load {id, prefix, files}`, `predict {id, x, batchSize}`,
 * `unload {id}`; each carries `req`, answered by `{req, ok, result}` or `{req, ok: false, error}`.
 */
import { parentPort } from 'node:worker_threads';
import type { LayersModel } from '@tensorflow/tfjs';
import {
  initBackend,
  loadModel,
  MemoryModelStore,
  predictProbabilities,
  type BackendName,
} from '@fundus/model';

type Request =
  | { req: number; kind: 'init'; backend: BackendName }
  | { req: number; kind: 'load'; id: string; prefix: string; files: Record<string, Uint8Array> }
  | { req: number; kind: 'predict'; id: string; x: Float32Array; batchSize: number }
  | { req: number; kind: 'unload'; id: string };

const port = parentPort!;
const models = new Map<string, LayersModel>();

async function handle(msg: Request): Promise<{ result: unknown; transfer?: ArrayBuffer[] }> {
  switch (msg.kind) {
    case 'init':
      return { result: await initBackend(msg.backend) };
    case 'load': {
      const store = new MemoryModelStore();
      for (const [key, bytes] of Object.entries(msg.files)) await store.put(key, bytes);
      const { model } = await loadModel(store, msg.prefix);
      models.get(msg.id)?.dispose();
      models.set(msg.id, model);
      return { result: { inputSize: model.inputs[0].shape[1] } };
    }
    case 'predict': {
      const model = models.get(msg.id);
      if (!model)
        throw Object.assign(new Error(`model ${msg.id} is not loaded in the inference thread`), {
          code: 'not-loaded',
        });
      const p = await predictProbabilities(model, msg.x, msg.batchSize);
      return { result: p, transfer: [p.buffer as ArrayBuffer] };
    }
    case 'unload':
      models.get(msg.id)?.dispose();
      models.delete(msg.id);
      return { result: null };
  }
}

port.on('message', (msg: Request) => {
  handle(msg).then(
    ({ result, transfer }) => port.postMessage({ req: msg.req, ok: true, result }, transfer ?? []),
    (err: Error & { code?: string }) =>
      port.postMessage({
        req: msg.req,
        ok: false,
        error: { name: err.name, code: err.code, message: err.message },
      }),
  );
});
