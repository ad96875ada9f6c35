/**
 * Reading a tfjs-layers model as a graph, for the code that rewrites one: the ONNX export
 * (onnx/export.ts) and `compileInference` (inference.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** A layer attribute given as n or [a, b] (kernel size, strides, …), as [a, b]. */
export const pair = (v: unknown): [number, number] =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];

/** TensorFlow 'same' padding along one axis: [begin, end]. */
export function samePads(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The layers feeding each call of `layer` (one entry per time it is applied). */
export function inboundNodes(layer: tf.layers.Layer): Array<{ inboundLayers: tf.layers.Layer[] }> {
  return (layer as unknown as { inboundNodes: Array<{ inboundLayers: tf.layers.Layer[] }> }).inboundNodes;
}

/** Layer name → the layers that consume its output, given each layer's inbound layers. */
export function consumersOf(
  model: tf.LayersModel,
  inbound: (layer: tf.layers.Layer) => tf.layers.Layer[],
): Map<string, tf.layers.Layer[]> {
  const consumers = new Map<string, tf.layers.Layer[]>();
  for (const layer of model.layers) {
    for (const src of inbound(layer)) consumers.set(src.name, [...(consumers.get(src.name) ?? []), layer]);
  }
  return consumers;
}

/** The variable of `layer` whose name ends in `/suffix` (kernel, bias, gamma, moving_mean, …). */
export function layerWeight(layer: tf.layers.Layer, suffix: string): tf.Tensor | undefined {
  return layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`))?.read();
}
