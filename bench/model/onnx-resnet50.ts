/**
 * Builds an ONNX ResNet50 inference graph (Keras/torchvision v1.5 layout: stride on the first 1×1 conv of
 * each bottleneck like Keras; batch norm folded into conv biases, as an exported inference model has
 * it) with random He-initialised weights, as raw ONNX protobuf bytes — no protobuf library needed.
 * Input `input` float32 [N, 3, S, S] (NCHW, N dynamic); output `prob` [N, 2] softmax probabilities.
 *
 * Used only as the benchmark anchor (ONNX Runtime CPU), until the project's ONNX export exists.
 */
import { Rng } from '../../libs/model/src/rng';

// --- minimal protobuf writer -------------------------------------------------------------------
type Bytes = Uint8Array;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function concat(parts: Bytes[]): Bytes {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const fInt = (field: number, v: number): Bytes => Uint8Array.from([...tag(field, 0), ...varint(v)]);
const fBytes = (field: number, b: Bytes): Bytes =>
  concat([Uint8Array.from([...tag(field, 2), ...varint(b.length)]), b]);
const fStr = (field: number, s: string): Bytes => fBytes(field, new TextEncoder().encode(s));
const fMsg = (field: number, parts: Bytes[]): Bytes => fBytes(field, concat(parts));

// --- ONNX messages (field numbers from onnx.proto) ---------------------------------------------
const FLOAT = 1;

function tensor(name: string, dims: number[], data: Float32Array): Bytes {
  return concat([
    ...dims.map((d) => fInt(1, d)),
    fInt(2, FLOAT),
    fStr(8, name),
    fBytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  ]);
}

function attrInts(name: string, values: number[]): Bytes {
  return concat([fStr(1, name), ...values.map((v) => fInt(8, v)), fInt(20, 7)]);
}

function attrInt(name: string, v: number): Bytes {
  return concat([fStr(1, name), fInt(3, v), fInt(20, 2)]);
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

function valueInfo(name: string, dims: Array<number | string>): Bytes {
  const shape = concat(dims.map((d) => fMsg(1, [typeof d === 'number' ? fInt(1, d) : fStr(2, d)])));
  const tensorType = concat([fInt(1, FLOAT), fBytes(2, shape)]);
  return concat([fStr(1, name), fMsg(2, [fBytes(1, tensorType)])]);
}

// --- ResNet50 ----------------------------------------------------------------------------------
class GraphBuilder {
  readonly nodes: Bytes[] = [];
  readonly inits: Bytes[] = [];
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  conv(
    x: string,
    ci: number,
    co: number,
    k: number,
    stride: number,
    pad: number,
    name: string,
    relu: boolean,
  ): string {
    const w = new Float32Array(co * ci * k * k);
    const std = Math.sqrt(2 / (ci * k * k));
    for (let i = 0; i < w.length; i++) w[i] = this.rng.normal() * std;
    this.inits.push(tensor(`${name}_W`, [co, ci, k, k], w));
    this.inits.push(tensor(`${name}_B`, [co], new Float32Array(co)));
    this.nodes.push(
      node('Conv', [x, `${name}_W`, `${name}_B`], [name], name, [
        attrInts('kernel_shape', [k, k]),
        attrInts('strides', [stride, stride]),
        attrInts('pads', [pad, pad, pad, pad]),
      ]),
    );
    if (!relu) return name;
    this.nodes.push(node('Relu', [name], [`${name}_relu`], `${name}_relu`));
    return `${name}_relu`;
  }

  bottleneck(
    x: string,
    ci: number,
    filters: number,
    stride: number,
    shortcutConv: boolean,
    name: string,
  ): string {
    const shortcut = shortcutConv ? this.conv(x, ci, 4 * filters, 1, stride, 0, `${name}_0_conv`, false) : x;
    let y = this.conv(x, ci, filters, 1, stride, 0, `${name}_1_conv`, true);
    y = this.conv(y, filters, filters, 3, 1, 1, `${name}_2_conv`, true);
    y = this.conv(y, filters, 4 * filters, 1, 1, 0, `${name}_3_conv`, false);
    this.nodes.push(node('Add', [shortcut, y], [`${name}_add`], `${name}_add`));
    this.nodes.push(node('Relu', [`${name}_add`], [`${name}_out`], `${name}_out`));
    return `${name}_out`;
  }
}

/**
 * ONNX bytes of a ResNet50 with a 2-class softmax head for square inputs of side `size`.
 * @param seed seeds the random weights
 */
export function buildResNet50Onnx(size: number, seed = 1): Uint8Array {
  const g = new GraphBuilder(seed);
  let x = g.conv('input', 3, 64, 7, 2, 3, 'conv1_conv', true);
  g.nodes.push(
    node('MaxPool', [x], ['pool1_pool'], 'pool1_pool', [
      attrInts('kernel_shape', [3, 3]),
      attrInts('strides', [2, 2]),
      attrInts('pads', [1, 1, 1, 1]),
    ]),
  );
  x = 'pool1_pool';
  let ci = 64;
  const stacks: Array<[number, number, number]> = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ];
  stacks.forEach(([filters, blocks, stride], s) => {
    x = g.bottleneck(x, ci, filters, stride, true, `conv${s + 2}_block1`);
    ci = 4 * filters;
    for (let i = 2; i <= blocks; i++) x = g.bottleneck(x, ci, filters, 1, false, `conv${s + 2}_block${i}`);
  });
  g.nodes.push(node('GlobalAveragePool', [x], ['avg_pool'], 'avg_pool'));
  g.nodes.push(node('Flatten', ['avg_pool'], ['flat'], 'flat', [attrInt('axis', 1)]));
  const w = new Float32Array(2 * 2048);
  const rng = new Rng(seed + 1);
  for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * Math.sqrt(6 / 2050);
  g.inits.push(tensor('fc_W', [2, 2048], w));
  g.inits.push(tensor('fc_B', [2], new Float32Array(2)));
  g.nodes.push(node('Gemm', ['flat', 'fc_W', 'fc_B'], ['logits'], 'fundus_logits', [attrInt('transB', 1)]));
  g.nodes.push(node('Softmax', ['logits'], ['prob'], 'prob', [attrInt('axis', 1)]));

  const graph = concat([
    ...g.nodes.map((n) => fBytes(1, n)),
    fStr(2, 'resnet50'),
    ...g.inits.map((t) => fBytes(5, t)),
    fBytes(11, valueInfo('input', ['N', 3, size, size])),
    fBytes(12, valueInfo('prob', ['N', 2])),
  ]);
  return concat([
    fInt(1, 8), // ir_version
    fStr(2, 'fundus-screen bench'),
    fBytes(7, graph),
    fMsg(8, [fStr(1, ''), fInt(2, 17)]), // opset_import: default domain, opset 17
  ]);
}
