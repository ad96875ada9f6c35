/**
 * No input gradient for convolutions that read the image. tfjs' fused conv2d gradient computes the
 * gradient with respect to its input eagerly, also for the model's first convolution, whose input
 * (the zero-padded image) depends on no weight and whose gradient nobody reads. For ResNet50 at
 * 224 px, batch 32 that is a [32, 230, 230, 3] input gradient summing 7·7·64 products per element —
 * ~32 GFLOP per step, a quarter of the whole forward pass, in a shape (3 channels) that tiles badly.
 *
 * Inside `withoutImageInputGradient(model, fn)` (the webgpu fast path's training step) such Conv2D
 * layers run as a custom-gradient op whose gradient is [0 (one fill), ∂W, ∂b]; ∂W and ∂b are the
 * same kernels as before, so weights train identically. Everywhere else tfjs-layers' own call runs.
 */
import * as tf from '@tensorflow/tfjs';

interface ConvLayerLike {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  useBias: boolean;
  strides: number[];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string } | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor | tf.Tensor[];
}
interface LayerLike {
  name: string;
  trainableWeights: unknown[];
  inboundNodes: Array<{ inboundLayers: LayerLike[] }>;
}

let scoped: WeakSet<object> | null = null;
let installed = false;

function convPrototype(): ConvLayerLike {
  return Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as ConvLayerLike;
}

/**
 * Conv2D layers of `model` whose input depends on no trainable weight (the image's convolutions, and
 * any behind frozen layers). Computed afresh for every step: which weights are trainable can change.
 */
export function imageInputConvs(model: tf.LayersModel): WeakSet<object> {
  const set = new WeakSet<object>();
  const proto = convPrototype();
  const weighted = new Set<string>(); // layers whose output depends on a trainable weight
  for (const layer of model.layers as unknown as LayerLike[]) {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    const inputDependsOnWeights = inbound.some((l) => weighted.has(l.name));
    if (inputDependsOnWeights || layer.trainableWeights.length > 0) weighted.add(layer.name);
    if (Object.getPrototypeOf(layer) === proto && !inputDependsOnWeights && layer.inboundNodes.length === 1) {
      set.add(layer);
    }
  }
  return set;
}

/** x ⊛ W + b whose gradient skips x (zeros); strides and padding as tfjs-layers gives them. */
function convWithoutInputGradient(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  strides: [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const f = tf.customGrad((...args: unknown[]) => {
    const [xi, w] = args as [tf.Tensor4D, tf.Tensor4D];
    const b = bias ? (args[2] as tf.Tensor1D) : undefined;
    const save = args[args.length - 1] as (ts: tf.Tensor[]) => void;
    save([xi, w]);
    const value = tf.fused.conv2d({ x: xi, filter: w, bias: b, strides, pad });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved;
        // Filter gradient first: on webgpu it also computes Σdy, which the bias gradient's Sum takes.
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, {
          ...attrs,
          filterShape: ws.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const grads = [tf.zerosLike(xs), dw];
        if (b) grads.push(tf.sum(dy, [0, 1, 2]));
        return grads;
      },
    };
  });
  return (bias ? f(x, kernel, bias) : f(x, kernel)) as tf.Tensor4D;
}

function install(): void {
  if (installed) return;
  installed = true;
  const proto = convPrototype();
  const stock = proto.call;
  proto.call = function (this: ConvLayerLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const plain =
      scoped?.has(this) === true &&
      x.rank === 4 &&
      this.dataFormat === 'channelsLast' &&
      this.dilationRate.every((d) => d === 1) &&
      (this.activation == null || this.activation.getClassName() === 'linear');
    if (!plain) return stock.call(this, inputs, kwargs);
    return convWithoutInputGradient(
      x as tf.Tensor4D,
      this.kernel.read() as tf.Tensor4D,
      this.useBias && this.bias ? (this.bias.read() as tf.Tensor1D) : null,
      [this.strides[0], this.strides[1] ?? this.strides[0]],
      this.padding,
    );
  };
}

/**
 * Runs `fn` (a training step of `model`) with the image's convolutions computing no input gradient
 * (see the module doc). Not re-entrant.
 */
export function withoutImageInputGradient<T>(model: tf.LayersModel, fn: () => T): T {
  install();
  if (scoped) throw new Error('withoutImageInputGradient is not re-entrant');
  scoped = imageInputConvs(model);
  try {
    return fn();
  } finally {
    scoped = null;
  }
}
