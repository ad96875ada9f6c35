/**
 * Static int8 quantization (QDQ format) of a graph from `exportOnnx`, for the int8 experiment in
 * int8-bench.ts. Not used by scoring.
 *
 * - activations: per-tensor asymmetric uint8, ranges (min/max) calibrated by running the float
 *   graph on calibration images with every activation exposed as an output;
 * - Conv weights: per-output-channel symmetric int8; Conv biases int32 (scale = input scale ×
 *   weight scale); Gemm (the classifier) and Softmax stay float.
 *
 * Each quantized tensor T gets QuantizeLinear → DequantizeLinear after its producer and its
 * consumers read the dequantized copy; ONNX Runtime's graph optimiser then fuses the QDQ groups
 * into int8 kernels (QLinearConv, QLinearAdd, ...).
 */
import * as ort from 'onnxruntime-node';
import { ONNX_INPUT_NAME } from '@fundus/model';

type Bytes = Uint8Array;
interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  int?: bigint;
  /** payload (wire 2) or the fixed bytes (wire 1, 5) */
  bytes?: Bytes;
  /** the whole encoded field, to copy unchanged */
  raw: Bytes;
}

function readVarint(b: Bytes, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos++];
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
}

function parse(b: Bytes): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    const [key, p1] = readVarint(b, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    const f: Field = { no, wire, raw: new Uint8Array(0) };
    if (wire === 0) [f.int, pos] = readVarint(b, pos);
    else if (wire === 2) {
      const [len, p2] = readVarint(b, pos);
      f.bytes = b.subarray(p2, p2 + Number(len));
      pos = p2 + Number(len);
    } else if (wire === 1) {
      f.bytes = b.subarray(pos, pos + 8);
      pos += 8;
    } else if (wire === 5) {
      f.bytes = b.subarray(pos, pos + 4);
      pos += 4;
    } else throw new Error(`protobuf wire type ${wire} not handled`);
    f.raw = b.subarray(start, pos);
    out.push(f);
  }
  return out;
}

function varint(v: number | bigint): number[] {
  let x = BigInt(v);
  if (x < 0n) x += 1n << 64n;
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
function concat(parts: Bytes[]): Bytes {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const fInt = (no: number, v: number | bigint) => Uint8Array.from([...varint(no << 3), ...varint(v)]);
const fBytes = (no: number, b: Bytes) =>
  concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(b.length)]), b]);
const fStr = (no: number, s: string) => fBytes(no, new TextEncoder().encode(s));
const str = (b: Bytes | undefined) => new TextDecoder().decode(b);

const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 } as const;

function tensor(name: string, dims: number[], type: number, data: ArrayBufferView): Bytes {
  return concat([
    ...dims.map((d) => fInt(1, d)),
    fInt(2, type),
    fStr(8, name),
    fBytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  ]);
}
function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Bytes[] = []): Bytes {
  return concat([
    ...inputs.map((i) => fStr(1, i)),
    ...outputs.map((o) => fStr(2, o)),
    fStr(3, name),
    fStr(4, op),
    ...attrs.map((a) => fBytes(5, a)),
  ]);
}
const attrInt = (name: string, v: number) => concat([fStr(1, name), fInt(3, v), fInt(20, 2)]);
/** ValueInfoProto of a float tensor of unknown shape. */
const floatOutput = (name: string) => concat([fStr(1, name), fBytes(2, fBytes(1, fInt(1, DT.FLOAT)))]);

interface Node {
  inputs: string[];
  outputs: string[];
  op: string;
  /** everything else (name, attributes, domain), re-emitted unchanged */
  rest: Field[];
}
interface Init {
  name: string;
  dims: number[];
  type: number;
  data: Float32Array | null;
  raw: Bytes;
}
interface Graph {
  model: Field[];
  graph: Field[];
  nodes: Node[];
  inits: Map<string, Init>;
}

function load(onnx: Bytes): Graph {
  const model = parse(onnx);
  const g = model.find((f) => f.no === 7);
  if (!g?.bytes) throw new Error('no graph');
  const graph = parse(g.bytes);
  const nodes: Node[] = graph
    .filter((f) => f.no === 1)
    .map((f) => {
      const fs = parse(f.bytes!);
      return {
        inputs: fs.filter((x) => x.no === 1).map((x) => str(x.bytes)),
        outputs: fs.filter((x) => x.no === 2).map((x) => str(x.bytes)),
        op: str(fs.find((x) => x.no === 4)?.bytes),
        rest: fs.filter((x) => x.no !== 1 && x.no !== 2 && x.no !== 4),
      };
    });
  const inits = new Map<string, Init>();
  for (const f of graph.filter((x) => x.no === 5)) {
    const fs = parse(f.bytes!);
    const name = str(fs.find((x) => x.no === 8)?.bytes);
    const type = Number(fs.find((x) => x.no === 2)?.int ?? 0n);
    const raw = fs.find((x) => x.no === 9)?.bytes;
    let data: Float32Array | null = null;
    if (type === DT.FLOAT && raw) data = new Float32Array(raw.slice().buffer);
    inits.set(name, {
      name,
      dims: fs.filter((x) => x.no === 1).map((x) => Number(x.int)),
      type,
      data,
      raw: f.raw,
    });
  }
  return { model, graph, nodes, inits };
}

function emitNode(n: Node): Bytes {
  return concat([
    ...n.inputs.map((i) => fStr(1, i)),
    ...n.outputs.map((o) => fStr(2, o)),
    fStr(4, n.op),
    ...n.rest.map((f) => f.raw),
  ]);
}

/** Re-encodes the model with `nodes`, the original initializers plus `extraInits`, and extra outputs. */
function save(
  g: Graph,
  nodes: Bytes[],
  extraInits: Bytes[],
  drop: Set<string>,
  extraOutputs: Bytes[] = [],
): Bytes {
  const graphParts: Bytes[] = [];
  let nodesDone = false;
  for (const f of g.graph) {
    if (f.no === 1) {
      if (!nodesDone) graphParts.push(...nodes.map((n) => fBytes(1, n)));
      nodesDone = true;
    } else if (f.no === 5) {
      const name = str(parse(f.bytes!).find((x) => x.no === 8)?.bytes);
      if (!drop.has(name)) graphParts.push(f.raw);
    } else graphParts.push(f.raw);
  }
  graphParts.push(...extraInits.map((t) => fBytes(5, t)));
  graphParts.push(...extraOutputs.map((o) => fBytes(12, o)));
  const graph = concat(graphParts);
  return concat(g.model.map((f) => (f.no === 7 ? fBytes(7, graph) : f.raw)));
}

/** Activations to quantize: every node output before the classifier (Flatten, Gemm, Softmax stay float). */
function activations(g: Graph): string[] {
  const out: string[] = [];
  for (const n of g.nodes) {
    if (n.op === 'Flatten' || n.op === 'Gemm' || n.op === 'Softmax') continue;
    out.push(...n.outputs);
  }
  return out;
}

/** Min and max of each activation over the calibration batches (NHWC float32, `size`). */
async function calibrate(
  g: Graph,
  names: string[],
  batches: Float32Array[],
  size: number,
): Promise<Map<string, [number, number]>> {
  const probe = save(g, g.nodes.map(emitNode), [], new Set(), names.map(floatOutput));
  const session = await ort.InferenceSession.create(probe, { executionProviders: ['cpu'] });
  const ranges = new Map<string, [number, number]>();
  try {
    for (const x of batches) {
      const n = x.length / (size * size * 3);
      const res = await session.run(
        { [ONNX_INPUT_NAME]: new ort.Tensor('float32', x, [n, size, size, 3]) },
        names,
      );
      for (const name of names) {
        const d = res[name].data as Float32Array;
        let [lo, hi] = ranges.get(name) ?? [0, 0];
        for (let i = 0; i < d.length; i++) {
          if (d[i] < lo) lo = d[i];
          else if (d[i] > hi) hi = d[i];
        }
        ranges.set(name, [lo, hi]);
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}

/**
 * The QDQ int8 graph of `onnx` (from exportOnnx), calibrated on `batches` of preprocessed images.
 * @returns the model bytes and how many tensors/weights were quantized
 */
export async function quantizeInt8(
  onnx: Bytes,
  batches: Float32Array[],
  size: number,
): Promise<{ onnx: Bytes; activations: number; convs: number }> {
  const g = load(onnx);
  const names = activations(g);
  const ranges = await calibrate(g, names, batches, size);
  const qp = new Map<string, { scale: number; zp: number }>();
  const extra: Bytes[] = [];
  const drop = new Set<string>();
  // The input: transposed model input (Transpose output) is among `names`, so every Conv input is covered.
  for (const name of names) {
    const [lo, hi] = ranges.get(name)!;
    const scale = Math.max(hi - lo, 1e-8) / 255;
    const zp = Math.min(255, Math.max(0, Math.round(-lo / scale)));
    qp.set(name, { scale, zp });
    extra.push(tensor(`${name}_qs`, [], DT.FLOAT, Float32Array.of(scale)));
    extra.push(tensor(`${name}_qz`, [], DT.UINT8, Uint8Array.of(zp)));
  }
  const rename = new Map(names.map((n) => [n, `${n}_dq`]));
  const out: Bytes[] = [];
  let convs = 0;
  for (const n of g.nodes) {
    const inputs = n.inputs.map((i) => rename.get(i) ?? i);
    if (n.op === 'Conv') {
      const [x, w, b] = n.inputs;
      const wi = g.inits.get(w);
      const xq = qp.get(x);
      if (wi?.data && xq) {
        convs += 1;
        const cOut = wi.dims[0];
        const per = wi.data.length / cOut;
        const wq = new Int8Array(wi.data.length);
        const ws = new Float32Array(cOut);
        for (let c = 0; c < cOut; c++) {
          let m = 0;
          for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(wi.data[c * per + i]));
          ws[c] = Math.max(m, 1e-12) / 127;
          for (let i = 0; i < per; i++)
            wq[c * per + i] = Math.max(-127, Math.min(127, Math.round(wi.data[c * per + i] / ws[c])));
        }
        drop.add(w);
        extra.push(tensor(`${w}_q`, wi.dims, DT.INT8, wq));
        extra.push(tensor(`${w}_s`, [cOut], DT.FLOAT, ws));
        extra.push(tensor(`${w}_z`, [cOut], DT.INT8, new Int8Array(cOut)));
        out.push(
          node('DequantizeLinear', [`${w}_q`, `${w}_s`, `${w}_z`], [`${w}_dq`], `${w}_dql`, [
            attrInt('axis', 0),
          ]),
        );
        inputs[1] = `${w}_dq`;
        const bi = b ? g.inits.get(b) : undefined;
        if (bi?.data) {
          const bs = ws.map((s) => s * xq.scale);
          const bq = new Int32Array(cOut);
          for (let c = 0; c < cOut; c++) bq[c] = Math.round(bi.data[c] / bs[c]);
          drop.add(b);
          extra.push(tensor(`${b}_q`, [cOut], DT.INT32, bq));
          extra.push(tensor(`${b}_s`, [cOut], DT.FLOAT, bs));
          extra.push(tensor(`${b}_z`, [cOut], DT.INT32, new Int32Array(cOut)));
          out.push(
            node('DequantizeLinear', [`${b}_q`, `${b}_s`, `${b}_z`], [`${b}_dq`], `${b}_dql`, [
              attrInt('axis', 0),
            ]),
          );
          inputs[2] = `${b}_dq`;
        }
      }
    }
    out.push(emitNode({ ...n, inputs }));
    for (const o of n.outputs) {
      if (!qp.has(o)) continue;
      out.push(node('QuantizeLinear', [o, `${o}_qs`, `${o}_qz`], [`${o}_q`], `${o}_ql`));
      out.push(node('DequantizeLinear', [`${o}_q`, `${o}_qs`, `${o}_qz`], [`${o}_dq`], `${o}_dqn`));
    }
  }
  return { onnx: save(g, out, extra, drop), activations: names.length, convs };
}
