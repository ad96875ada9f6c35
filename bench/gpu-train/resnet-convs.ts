/**
 * The convolutions and batch norms of a tfjs-layers model (nested models included) with their
 * geometry at a given batch — what plans.ts and conv-kernels.ts iterate over.
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry, type ConvGeometry } from '../../libs/model/src/conv-geometry';

/** Every layer, nested models' layers included. */
function flatLayers(m: tf.LayersModel): tf.layers.Layer[] {
  return m.layers.flatMap((l) => ('layers' in l ? flatLayers(l as unknown as tf.LayersModel) : [l]));
}

export interface ConvLayer {
  name: string;
  geometry: ConvGeometry;
  pad: 'same' | 'valid';
}
export interface BatchNormLayer {
  name: string;
  rows: number;
  channels: number;
}

/** Conv2D and BatchNormalization layers in model order, at batch `n`. */
export function modelLayers(model: tf.LayersModel, n: number): Array<ConvLayer | BatchNormLayer> {
  const out: Array<ConvLayer | BatchNormLayer> = [];
  for (const layer of flatLayers(model)) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'BatchNormalization') continue;
    const s = (layer.input as tf.SymbolicTensor).shape as number[];
    if (cls === 'BatchNormalization') {
      out.push({ name: layer.name, rows: n * s[1] * s[2], channels: s[3] });
      continue;
    }
    const cfg = layer.getConfig() as {
      kernelSize: number[];
      strides: number[];
      padding: 'same' | 'valid';
      filters: number;
    };
    out.push({
      name: layer.name,
      pad: cfg.padding,
      geometry: convGeometry(
        [n, s[1], s[2], s[3]],
        [cfg.kernelSize[0], cfg.kernelSize[1], s[3], cfg.filters],
        { strides: cfg.strides, pad: cfg.padding },
      ),
    });
  }
  return out;
}

export const isConv = (l: ConvLayer | BatchNormLayer): l is ConvLayer => 'geometry' in l;
