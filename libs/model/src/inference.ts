/**
 * Inference with batch norm folded into the convolutions: the classifier's layers compiled into a
 * plain sequence of tfjs ops, where each Conv2D → BatchNormalization (→ ReLU) becomes one fused
 * convolution with W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β and the ReLU as its activation, and a
 * ZeroPadding2D that only feeds convolutions becomes their explicit padding. For ResNet50 that turns
 * 53 convolutions + 53 batch norms + 33 ReLUs + 2 pads into 53 fused convolutions (one GPU program
 * each on webgpu: no separate batch-norm or ReLU pass over the activations). The same folding as the
 * ONNX export (onnx/export.ts), kept in tfjs so that validation scoring and the GPU bench use it.
 *
 * The folded weights are a snapshot: compile again after the weights change (training).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';
import { consumersOf, inboundNodes, layerWeight, pair, samePads } from './layer-graph';

type Cfg = Record<string, unknown>;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

function inbound(layer: tf.layers.Layer): tf.layers.Layer[] {
  const nodes = inboundNodes(layer);
  if (nodes.length !== 1)
    throw new ModelError('unsupported-model', `layer "${layer.name}" is applied ${nodes.length} times`);
  return nodes[0].inboundLayers;
}

/** A classifier compiled for inference (see the module doc). */
export interface InferenceGraph {
  /** Logits [N, classes] for NHWC float32 input [N, S, S, 3]; call inside `tf.tidy`. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** Layers folded away (batch norms, ReLUs, pads) — for tests and benches. */
  readonly folded: number;
  /** Frees the folded weights. */
  dispose(): void;
}

type Step = (values: Map<string, tf.Tensor>) => void;

/**
 * Compiles `model` (InputLayer, ZeroPadding2D, Conv2D, BatchNormalization, Activation('relu'),
 * MaxPooling2D, Add, GlobalAveragePooling2D, Dense — every architecture `createModel` builds).
 * @throws ModelError `unsupported-model` for any other layer or configuration (callers fall back to
 * `model.apply`)
 */
export function compileInference(model: tf.LayersModel): InferenceGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new ModelError('unsupported-model', 'only single-input, single-output models can be compiled');
  const consumers = consumersOf(model, inbound);
  const only = (name: string, cls: string): tf.layers.Layer | undefined => {
    const users = consumers.get(name) ?? [];
    return users.length === 1 && users[0].getClassName() === cls ? users[0] : undefined;
  };
  const owned: tf.Tensor[] = [];
  const steps: Step[] = [];
  /** Layer name → the name whose value stands for its output (folded layers alias their producer). */
  const alias = new Map<string, string>();
  const src = (layer: tf.layers.Layer): string[] => inbound(layer).map((l) => alias.get(l.name) ?? l.name);
  /** ZeroPadding2D layers folded into the convolutions they feed. */
  const padOf = new Map<string, { input: string; pads: [[number, number], [number, number]] }>();
  let folded = 0;
  let inputName = '';

  try {
    for (const layer of model.layers) {
      const cls = layer.getClassName();
      const cfg = layer.getConfig() as Cfg;
      const name = layer.name;
      if (alias.has(name)) continue; // folded into an earlier step
      switch (cls) {
        case 'InputLayer':
          inputName = name;
          break;
        case 'ZeroPadding2D': {
          const [[t, b], [l, r]] = cfg.padding as [[number, number], [number, number]];
          const users = consumers.get(name) ?? [];
          const [x] = src(layer);
          if (users.length > 0 && users.every((u) => u.getClassName() === 'Conv2D')) {
            padOf.set(name, {
              input: x,
              pads: [
                [t, b],
                [l, r],
              ],
            });
            folded++;
          } else {
            steps.push((v) =>
              v.set(
                name,
                tf.pad(v.get(x)!, [
                  [0, 0],
                  [t, b],
                  [l, r],
                  [0, 0],
                ]),
              ),
            );
          }
          break;
        }
        case 'Conv2D': {
          if (
            (cfg.activation ?? 'linear') !== 'linear' ||
            (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast'
          )
            throw new ModelError(
              'unsupported-model',
              `layer "${name}": only linear channels-last convolutions`,
            );
          const [dh, dw] = pair(cfg.dilationRate ?? 1);
          if (dh !== 1 || dw !== 1) throw new ModelError('unsupported-model', `layer "${name}": dilation`);
          const [kh, kw] = pair(cfg.kernelSize);
          const [sh, sw] = pair(cfg.strides ?? 1);
          const inLayer = inbound(layer)[0];
          const pad = padOf.get(inLayer.name);
          const x = pad ? pad.input : src(layer)[0];
          const pads: Pads = [
            [0, 0],
            pad ? [...pad.pads[0]] : [0, 0],
            pad ? [...pad.pads[1]] : [0, 0],
            [0, 0],
          ];
          if (cfg.padding === 'same') {
            const s = (layer.input as tf.SymbolicTensor).shape as number[];
            const [pt, pb] = samePads(s[1], kh, sh);
            const [pl, pr] = samePads(s[2], kw, sw);
            pads[1] = [pads[1][0] + pt, pads[1][1] + pb];
            pads[2] = [pads[2][0] + pl, pads[2][1] + pr];
          } else if (cfg.padding !== 'valid') {
            throw new ModelError('unsupported-model', `layer "${name}": padding ${String(cfg.padding)}`);
          }
          let kernel = layerWeight(layer, 'kernel')!;
          const co = kernel.shape[kernel.shape.length - 1] as number;
          const bias0 = layerWeight(layer, 'bias');
          let bias: tf.Tensor;
          let activation: 'linear' | 'relu' = 'linear';
          const bn = only(name, 'BatchNormalization');
          const bnCfg = bn?.getConfig() as Cfg | undefined;
          if (bn && (bnCfg!.axis === 3 || bnCfg!.axis === -1)) {
            const f = tf.tidy(() => {
              const gamma = layerWeight(bn, 'gamma') ?? tf.ones([co]);
              const beta = layerWeight(bn, 'beta') ?? tf.zeros([co]);
              const scale = tf.div(
                gamma,
                tf.sqrt(tf.add(layerWeight(bn, 'moving_variance')!, bnCfg!.epsilon as number)),
              );
              return {
                kernel: tf.mul(kernel, scale),
                bias: tf.add(
                  tf.mul(tf.sub(bias0 ?? tf.zeros([co]), layerWeight(bn, 'moving_mean')!), scale),
                  beta,
                ),
              };
            });
            kernel = f.kernel;
            bias = f.bias;
            alias.set(bn.name, name);
            folded++;
            const relu = only(bn.name, 'Activation');
            if (relu && (relu.getConfig() as Cfg).activation === 'relu') {
              activation = 'relu';
              alias.set(relu.name, name);
              folded++;
            }
          } else {
            kernel = kernel.clone();
            bias = bias0 ? bias0.clone() : tf.zeros([co]);
          }
          owned.push(kernel, bias);
          const filter = kernel as tf.Tensor4D;
          const b = bias;
          steps.push((v) =>
            v.set(
              name,
              tf.fused.conv2d({
                x: v.get(x)! as tf.Tensor4D,
                filter,
                bias: b,
                strides: [sh, sw],
                pad: pads,
                activation,
              }),
            ),
          );
          break;
        }
        case 'BatchNormalization': {
          const axis = cfg.axis as number;
          if (axis !== 3 && axis !== -1)
            throw new ModelError('unsupported-model', `layer "${name}": batch norm axis ${axis}`);
          const [x] = src(layer);
          const mean = layerWeight(layer, 'moving_mean')!;
          const variance = layerWeight(layer, 'moving_variance')!;
          const gamma = layerWeight(layer, 'gamma');
          const beta = layerWeight(layer, 'beta');
          const eps = cfg.epsilon as number;
          steps.push((v) => v.set(name, tf.batchNorm(v.get(x)!, mean, variance, beta, gamma, eps)));
          break;
        }
        case 'Activation':
        case 'ReLU': {
          if (cls === 'Activation' && cfg.activation !== 'relu')
            throw new ModelError(
              'unsupported-model',
              `layer "${name}": activation ${String(cfg.activation)}`,
            );
          const [x] = src(layer);
          steps.push((v) => v.set(name, tf.relu(v.get(x)!)));
          break;
        }
        case 'MaxPooling2D': {
          const [x] = src(layer);
          const size = pair(cfg.poolSize);
          const strides = pair(cfg.strides ?? cfg.poolSize);
          const padding = cfg.padding as 'same' | 'valid';
          steps.push((v) => v.set(name, tf.maxPool(v.get(x)! as tf.Tensor4D, size, strides, padding)));
          break;
        }
        case 'Add': {
          const xs = src(layer);
          steps.push((v) =>
            v.set(
              name,
              xs.length === 2 ? tf.add(v.get(xs[0])!, v.get(xs[1])!) : tf.addN(xs.map((k) => v.get(k)!)),
            ),
          );
          break;
        }
        case 'GlobalAveragePooling2D': {
          const [x] = src(layer);
          steps.push((v) => v.set(name, tf.mean(v.get(x)!, [1, 2])));
          break;
        }
        case 'Dense': {
          if ((cfg.activation ?? 'linear') !== 'linear')
            throw new ModelError('unsupported-model', `layer "${name}": activation`);
          const [x] = src(layer);
          const w = layerWeight(layer, 'kernel')!.clone();
          const b = layerWeight(layer, 'bias')?.clone();
          owned.push(w, ...(b ? [b] : []));
          steps.push((v) =>
            v.set(name, tf.fused.matMul({ a: v.get(x)! as tf.Tensor2D, b: w as tf.Tensor2D, bias: b })),
          );
          break;
        }
        default:
          throw new ModelError('unsupported-model', `layer "${name}" of class ${cls} cannot be compiled`);
      }
    }
  } catch (err) {
    tf.dispose(owned);
    throw err;
  }
  const last = model.layers[model.layers.length - 1].name;
  const output = alias.get(last) ?? last;
  return {
    folded,
    logits(x: tf.Tensor4D): tf.Tensor2D {
      const values = new Map<string, tf.Tensor>([[inputName, x]]);
      for (const step of steps) step(values);
      return values.get(output) as tf.Tensor2D;
    },
    dispose(): void {
      tf.dispose(owned);
    },
  };
}

/** `compileInference`, or null for a model it cannot compile (those run layer by layer). */
export function tryCompileInference(model: tf.LayersModel): InferenceGraph | null {
  try {
    return compileInference(model);
  } catch (err) {
    if (err instanceof ModelError && err.code === 'unsupported-model') return null;
    throw err;
  }
}
