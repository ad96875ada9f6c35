/**
 * Worker-thread entry of the scoring decode pool (decode-pool.ts): decode, FOV crop, resize,
 * normalise and quality gate (`preprocess` from @fundus/imaging) off the main thread, so several
 * images are prepared at once on every core while the inference thread infers.
 *
 * Message in: `{req, buf, size}` (the image bytes' buffer is transferred). Answer: `{req, ok: true,
 * result}` where result is a tensor (its buffer transferred back), an ungradable verdict with its
 * reasons, or an imaging error (`code`, `message`: bad bytes are a row, not a failure); `{req, ok:
 * false, error}` for anything else, which the pool rethrows.
 */
import { parentPort } from 'node:worker_threads';
import { prepareHere } from './decode-pool';

const port = parentPort!;

port.on('message', (msg: { req: number; buf: Uint8Array; size: number }) => {
  const buf = Buffer.from(msg.buf.buffer, msg.buf.byteOffset, msg.buf.byteLength);
  prepareHere(buf, msg.size).then(
    (result) =>
      port.postMessage(
        { req: msg.req, ok: true, result },
        result.kind === 'tensor' ? [result.data.buffer as ArrayBuffer] : [],
      ),
    (err: Error) =>
      port.postMessage({ req: msg.req, ok: false, error: { name: err.name, message: err.message } }),
  );
});
