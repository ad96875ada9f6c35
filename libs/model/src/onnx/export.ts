/**
 * Export of our tf.layers classifiers (tiny-resnet, resnet18, resnet50 — see architectures.ts) to
 * ONNX inference graphs, written as raw ONNX protobuf (opset 17, IR version 8).
 *
 * Graph contract:
 * - input `input`: float32 [N, S, S, 3], **NHWC** exactly like the tfjs model (preprocessed pixels),
 *   N dynamic. The graph starts with a Transpose to NCHW, so every Conv/Pool runs in ONNX's native
 *   layout and callers reuse the tfjs input buffers unchanged.
 * - output `prob`: float32 [N, 2] = softmax(logits); column 1 is P(disease).
 *
 * Batch normalisation that follows a convolution is folded into it (W' = W·γ/√(σ²+ε),
 * b' = (b − μ)·γ/√(σ²+ε) + β); a ZeroPadding2D that feeds only convolutions is folded into their pads;
 * Keras 'same' padding becomes TensorFlow's explicit asymmetric pads.
 */
import * as tf from '@tensorflow/tfjs';
import {
  attrInt,
  attrInts,
  concat,
  fBytes,
  fInt,
  fMsg,
  fStr,
  nodeProto,
  tensorProto,
  valueInfo,
  type Bytes,
} from './protobuf';
import { consumersOf, inboundNodes, layerWeight, pair, samePads } from '../layer-graph';

/** Why an export failed. */
export type OnnxExportErrorCode = 'unsupported-layer' | 'unsupported-model';

/** Thrown by `exportOnnx` for a model it cannot express; `code` says why. */
export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';

  constructor(
    readonly code: OnnxExportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Name of the exported graph's input (NHWC float32 [N, S, S, 3]). */
export const ONNX_INPUT_NAME = 'input';
/** Name of the exported graph's output (float32 [N, 2] softmax probabilities). */
export const ONNX_OUTPUT_NAME = 'prob';
/** ONNX operator set the exported graphs use. */
export const ONNX_OPSET = 17;

type Cfg = Record<string, unknown>;
type Pads = [number, number, number, number]; // top, left, bottom, right (ONNX: begins then ends)

function inboundLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  const nodes = inboundNodes(layer);
  if (nodes.length !== 1) {
    throw new OnnxExportError(
      'unsupported-model',
      `layer "${layer.name}" is applied ${nodes.length} times; only single-use layers are supported`,
    );
  }
  return nodes[0].inboundLayers;
}

function weight(layer: tf.layers.Layer, suffix: string): Float32Array | undefined {
  return layerWeight(layer, suffix)?.dataSync() as Float32Array | undefined;
}

/** [N, H, W, C] of a layer's (single) input. */
function inputShape(layer: tf.layers.Layer): number[] {
  return (layer.input as tf.SymbolicTensor).shape as number[];
}

function checkLinear(layer: tf.layers.Layer, cfg: Cfg): void {
  if (cfg.activation !== undefined && cfg.activation !== 'linear') {
    throw new OnnxExportError(
      'unsupported-layer',
      `layer "${layer.name}": fused activation "${String(cfg.activation)}" is not supported`,
    );
  }
}

class OnnxGraph {
  readonly nodes: Bytes[] = [];
  readonly inits: Bytes[] = [];

  node(op: string, inputs: string[], output: string, attrs: Bytes[] = []): string {
    this.nodes.push(nodeProto(op, inputs, [output], output, attrs));
    return output;
  }

  init(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.inits.push(tensorProto(name, dims, data));
    return name;
  }
}

/**
 * Exports a trained classifier to ONNX bytes (see the module doc for the graph contract).
 * Supported layers: InputLayer, ZeroPadding2D, Conv2D (channels-last, dilation 1, linear activation),
 * BatchNormalization (channel axis), Activation('relu'), MaxPooling2D, Add, GlobalAveragePooling2D,
 * Dense (linear) as the single output — i.e. every architecture `createModel` builds.
 * Weights are read from the model's current values (run on any tfjs backend).
 * @returns a serialized ONNX ModelProto, loadable by `onnxruntime-node`'s `InferenceSession.create`
 * @throws OnnxExportError `unsupported-layer` / `unsupported-model` naming the offending layer
 */
export function exportOnnx(model: tf.LayersModel): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new OnnxExportError('unsupported-model', 'only single-input, single-output models are supported');
  }
  const inShape = model.inputs[0].shape;
  if (inShape.length !== 4 || inShape[3] !== 3 || inShape[1] == null || inShape[2] == null) {
    throw new OnnxExportError(
      'unsupported-model',
      `input shape must be [N, S, S, 3]; got [${inShape.map(String).join(', ')}]`,
    );
  }
  const g = new OnnxGraph();
  const consumers = consumersOf(model, inboundLayers);
  /** ONNX tensor name holding each layer's output. */
  const out = new Map<string, string>();
  /** ZeroPadding2D layers folded into their consumers: input tensor and pads. */
  const folded = new Map<string, { input: string; pads: Pads }>();
  /** BatchNormalization layers folded into the preceding Conv. */
  const foldedBn = new Set<string>();

  const inputOf = (layer: tf.layers.Layer): string[] =>
    inboundLayers(layer).map((src) => {
      const name = out.get(src.name);
      if (name === undefined)
        throw new OnnxExportError('unsupported-model', `layer "${src.name}" has no output`);
      return name;
    });

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Cfg;
    const name = layer.name;
    switch (cls) {
      case 'InputLayer':
        out.set(
          name,
          g.node('Transpose', [ONNX_INPUT_NAME], `${name}_nchw`, [attrInts('perm', [0, 3, 1, 2])]),
        );
        break;
      case 'ZeroPadding2D': {
        const [[t, b], [l, r]] = cfg.padding as [[number, number], [number, number]];
        const pads: Pads = [t, l, b, r];
        const [x] = inputOf(layer);
        const users = consumers.get(name) ?? [];
        if (users.length > 0 && users.every((u) => u.getClassName() === 'Conv2D')) {
          folded.set(name, { input: x, pads });
          out.set(name, `${name}__folded`);
        } else {
          const p = g.init(`${name}_pads`, [8], BigInt64Array.from([0, 0, t, l, 0, 0, b, r].map(BigInt)));
          out.set(name, g.node('Pad', [x, p], name));
        }
        break;
      }
      case 'Conv2D': {
        checkLinear(layer, cfg);
        if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast')
          throw new OnnxExportError('unsupported-layer', `layer "${name}": only channelsLast is supported`);
        const [dh, dw] = pair(cfg.dilationRate ?? 1);
        if (dh !== 1 || dw !== 1)
          throw new OnnxExportError('unsupported-layer', `layer "${name}": dilation is not supported`);
        const [kh, kw] = pair(cfg.kernelSize);
        const [sh, sw] = pair(cfg.strides ?? 1);
        const src = inboundLayers(layer)[0];
        const fold = folded.get(src.name);
        const x = fold ? fold.input : inputOf(layer)[0];
        const pads: Pads = fold ? [...fold.pads] : [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const shape = inputShape(layer);
          const [pt, pb] = samePads(shape[1], kh, sh);
          const [pl, pr] = samePads(shape[2], kw, sw);
          pads[0] += pt;
          pads[1] += pl;
          pads[2] += pb;
          pads[3] += pr;
        } else if (cfg.padding !== 'valid') {
          throw new OnnxExportError('unsupported-layer', `layer "${name}": padding "${String(cfg.padding)}"`);
        }
        const kernel = weight(layer, 'kernel');
        if (!kernel) throw new OnnxExportError('unsupported-layer', `layer "${name}" has no kernel`);
        const kshape = layer.weights.find((v) => v.originalName.endsWith('/kernel'))!.shape as number[];
        const ci = kshape[2];
        const co = kshape[3];
        // tfjs [kh, kw, ci, co] → ONNX [co, ci, kh, kw], scaled per output channel by the folded BN.
        const scale = new Float32Array(co).fill(1);
        const bias = new Float32Array(co);
        const b0 = weight(layer, 'bias');
        if (b0) bias.set(b0);
        const users = consumers.get(name) ?? [];
        let outName = name;
        if (users.length === 1 && users[0].getClassName() === 'BatchNormalization') {
          const bn = users[0];
          const bnCfg = bn.getConfig() as Cfg;
          const axis = bnCfg.axis as number;
          if (axis === 3 || axis === -1) {
            const eps = bnCfg.epsilon as number;
            const gamma = weight(bn, 'gamma');
            const beta = weight(bn, 'beta');
            const mean = weight(bn, 'moving_mean')!;
            const variance = weight(bn, 'moving_variance')!;
            for (let c = 0; c < co; c++) {
              const s = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
              scale[c] = s;
              bias[c] = (bias[c] - mean[c]) * s + (beta ? beta[c] : 0);
            }
            foldedBn.add(bn.name);
            outName = bn.name;
          }
        }
        const w = new Float32Array(co * ci * kh * kw);
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let c = 0; c < ci; c++)
              for (let o = 0; o < co; o++)
                w[((o * ci + c) * kh + i) * kw + j] = kernel[((i * kw + j) * ci + c) * co + o] * scale[o];
        const wn = g.init(`${name}_W`, [co, ci, kh, kw], w);
        const bnName = g.init(`${name}_B`, [co], bias);
        g.node('Conv', [x, wn, bnName], outName, [
          attrInts('kernel_shape', [kh, kw]),
          attrInts('strides', [sh, sw]),
          attrInts('pads', pads),
        ]);
        out.set(name, outName);
        if (outName !== name) out.set(outName, outName);
        break;
      }
      case 'BatchNormalization': {
        if (foldedBn.has(name)) break;
        const axis = cfg.axis as number;
        if (axis !== 3 && axis !== -1)
          throw new OnnxExportError('unsupported-layer', `layer "${name}": batch norm axis ${axis}`);
        const [x] = inputOf(layer);
        const mean = weight(layer, 'moving_mean')!;
        const variance = weight(layer, 'moving_variance')!;
        const gamma = weight(layer, 'gamma');
        const beta = weight(layer, 'beta');
        const c = mean.length;
        const s = new Float32Array(c);
        const t = new Float32Array(c);
        for (let i = 0; i < c; i++) {
          s[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + (cfg.epsilon as number));
          t[i] = (beta ? beta[i] : 0) - mean[i] * s[i];
        }
        const mul = g.node('Mul', [x, g.init(`${name}_scale`, [1, c, 1, 1], s)], `${name}_mul`);
        out.set(name, g.node('Add', [mul, g.init(`${name}_shift`, [1, c, 1, 1], t)], name));
        break;
      }
      case 'Activation':
      case 'ReLU': {
        if (cls === 'Activation' && cfg.activation !== 'relu')
          throw new OnnxExportError(
            'unsupported-layer',
            `layer "${name}": activation "${String(cfg.activation)}"`,
          );
        out.set(name, g.node('Relu', inputOf(layer), name));
        break;
      }
      case 'MaxPooling2D': {
        const [kh, kw] = pair(cfg.poolSize);
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize);
        let pads: Pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const shape = inputShape(layer);
          const [pt, pb] = samePads(shape[1], kh, sh);
          const [pl, pr] = samePads(shape[2], kw, sw);
          pads = [pt, pl, pb, pr];
        }
        out.set(
          name,
          g.node('MaxPool', inputOf(layer), name, [
            attrInts('kernel_shape', [kh, kw]),
            attrInts('strides', [sh, sw]),
            attrInts('pads', pads),
          ]),
        );
        break;
      }
      case 'Add': {
        const xs = inputOf(layer);
        let acc = xs[0];
        for (let i = 1; i < xs.length; i++)
          acc = g.node('Add', [acc, xs[i]], i === xs.length - 1 ? name : `${name}_${i}`);
        out.set(name, acc);
        break;
      }
      case 'GlobalAveragePooling2D': {
        const pooled = g.node('GlobalAveragePool', inputOf(layer), `${name}_4d`);
        out.set(name, g.node('Flatten', [pooled], name, [attrInt('axis', 1)]));
        break;
      }
      case 'Dense': {
        checkLinear(layer, cfg);
        const kshape = layer.weights.find((v) => v.originalName.endsWith('/kernel'))!.shape as number[];
        const wn = g.init(`${name}_W`, kshape, weight(layer, 'kernel')!);
        const b = weight(layer, 'bias') ?? new Float32Array(kshape[1]);
        const bn = g.init(`${name}_B`, [kshape[1]], b);
        out.set(name, g.node('Gemm', [...inputOf(layer), wn, bn], name));
        break;
      }
      default:
        throw new OnnxExportError('unsupported-layer', `layer "${name}" of class ${cls} is not supported`);
    }
  }
  const last = model.layers[model.layers.length - 1];
  const logits = out.get(last.name)!;
  const classes = model.outputs[0].shape[1] as number;
  g.node('Softmax', [logits], ONNX_OUTPUT_NAME, [attrInt('axis', 1)]);

  const graph = concat([
    ...g.nodes.map((n) => fBytes(1, n)),
    fStr(2, model.name),
    ...g.inits.map((t) => fBytes(5, t)),
    fBytes(11, valueInfo(ONNX_INPUT_NAME, ['N', inShape[1], inShape[2], 3])),
    fBytes(12, valueInfo(ONNX_OUTPUT_NAME, ['N', classes])),
  ]);
  return concat([
    fInt(1, 8), // ir_version
    fStr(2, 'fundus-screen'),
    fBytes(7, graph),
    fMsg(8, [fStr(1, ''), fInt(2, ONNX_OPSET)]),
  ]);
}
