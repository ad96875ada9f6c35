/**
 * Worker-thread entry for scoring inference: holds loaded models and answers forward passes, so
 * the main thread's event loop (BullMQ lock renewal, storage, decoding, PostgreSQL) keeps running
 * while a batch is inferred.
 *
 * Messages in: `init {backend}`, `load {id, prefix, files, engine?, onnx?, ort?}`, `predict {id, x, batchSize}`,
 * `unload {id}`; with `engine: 'onnx'` the model runs on ONNX Runtime, from the given `onnx` bytes
 * or else exported once from the tfjs files (`exportOnnx`, batch norm folded), on the execution
 * provider `ort.providers` selects (ort-providers.ts; CPU when the chosen one cannot start) with
 * `ort.threads` intra-op threads; each carries `req`, answered by `{req, ok, result}` or
 * `{req, ok: false, error}`.
 */
import { parentPort } from 'node:worker_threads';
import type { LayersModel } from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  exportOnnx,
  initBackend,
  loadModel,
  MemoryModelStore,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  predictProbabilities,
  tryCompileInference,
  type BackendName,
  type InferenceGraph,
} from '@fundus/model';
import { createOrtSession, type OrtOptions, type OrtProvider } from './ort-providers';

type Request =
  | { req: number; kind: 'init'; backend: BackendName }
  | {
      req: number;
      kind: 'load';
      id: string;
      prefix: string;
      files: Record<string, Uint8Array>;
      engine?: 'tfjs' | 'onnx';
      onnx?: Uint8Array;
      ort?: OrtOptions;
    }
  | { req: number; kind: 'predict'; id: string; x: Float32Array; batchSize: number }
  | { req: number; kind: 'unload'; id: string };

const port = parentPort!;
type Held =
  // graph: the model compiled for inference once (batch norm folded), null if it cannot be.
  | { engine: 'tfjs'; model: LayersModel; graph: InferenceGraph | null }
  | { engine: 'onnx'; session: ort.InferenceSession; size: number };
const models = new Map<string, Held>();

function release(held: Held | undefined): void {
  if (!held) return;
  if (held.engine === 'tfjs') {
    held.graph?.dispose();
    held.model.dispose();
  } else void held.session.release();
}

/** P(disease) = prob[:, 1] from ONNX Runtime, `batchSize` images per run. */
async function predictOnnx(
  held: { session: ort.InferenceSession; size: number },
  x: Float32Array,
  batchSize: number,
) {
  const per = held.size * held.size * 3;
  if (x.length % per !== 0)
    throw new Error(`input length ${x.length} is not a multiple of ${held.size}×${held.size}×3`);
  const n = x.length / per;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    const input = new ort.Tensor('float32', x.subarray(i * per, (i + m) * per), [m, held.size, held.size, 3]);
    const res = await held.session.run({ [ONNX_INPUT_NAME]: input });
    const prob = res[ONNX_OUTPUT_NAME].data as Float32Array;
    for (let j = 0; j < m; j++) out[i + j] = prob[2 * j + 1];
  }
  return out;
}

/** Side S of an ONNX graph's NHWC [N, S, S, 3] input, or undefined when not static. */
function onnxInputSize(session: ort.InferenceSession): number | undefined {
  const meta = session.inputMetadata.find((m) => m.name === ONNX_INPUT_NAME);
  if (!meta || !meta.isTensor) return undefined;
  const s = meta.shape[1];
  return typeof s === 'number' ? s : undefined;
}

async function handle(msg: Request): Promise<{ result: unknown; transfer?: ArrayBuffer[] }> {
  switch (msg.kind) {
    case 'init':
      return { result: await initBackend(msg.backend) };
    case 'load': {
      let onnx = msg.onnx;
      let model: LayersModel | undefined;
      if (!onnx) {
        const store = new MemoryModelStore();
        for (const [key, bytes] of Object.entries(msg.files)) await store.put(key, bytes);
        ({ model } = await loadModel(store, msg.prefix));
      }
      if (msg.engine !== 'onnx' && model) {
        release(models.get(msg.id));
        models.set(msg.id, { engine: 'tfjs', model, graph: tryCompileInference(model) });
        return { result: { inputSize: model.inputs[0].shape[1], engine: 'tfjs' } };
      }
      let fromTfjs: number | undefined;
      if (model) {
        fromTfjs = model.inputs[0].shape[1] as number;
        try {
          onnx = exportOnnx(model);
        } finally {
          model.dispose();
        }
      }
      const { session, provider, note } = await createOrtSession(
        onnx!,
        msg.ort ?? { providers: 'cpu', threads: 0 },
      );
      const size = fromTfjs ?? onnxInputSize(session);
      if (size === undefined) {
        await session.release();
        throw new Error(`ONNX model has no static input size (expects "${ONNX_INPUT_NAME}" [N, S, S, 3])`);
      }
      release(models.get(msg.id));
      models.set(msg.id, { engine: 'onnx', session, size });
      const result: { inputSize: number; engine: 'onnx'; provider: OrtProvider; note?: string } = {
        inputSize: size,
        engine: 'onnx',
        provider,
      };
      if (note) result.note = note;
      return { result };
    }
    case 'predict': {
      const held = models.get(msg.id);
      if (!held)
        throw Object.assign(new Error(`model ${msg.id} is not loaded in the inference thread`), {
          code: 'not-loaded',
        });
      const p =
        held.engine === 'tfjs'
          ? await predictProbabilities(held.model, msg.x, msg.batchSize, held.graph)
          : await predictOnnx(held, msg.x, msg.batchSize);
      return { result: p, transfer: [p.buffer as ArrayBuffer] };
    }
    case 'unload':
      release(models.get(msg.id));
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
