/**
 * How the webgpu fast path splits ResNet50's filter gradients and channel reductions at a given size
 * and batch (no GPU needed: the plans are functions of the shapes), and how many programs the splits
 * add to a training step compared with another batch — e.g. the count at 224 px, batch 32 predicted
 * from one measured at 224 px, batch 1 (which lavapipe can run; batch 32 it cannot).
 *
 *   npx tsx bench/gpu-train/plans.ts [--size 224] [--batch 32] [--base-batch 1] [--verbose]
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../libs/model/src/architectures';
import { channelReducePlan, filterGradPlan } from '../../libs/model/src/webgpu';
import { isConv, modelLayers } from './resnet-convs';
import { arg } from '../support/args';

const size = Number(arg('size') ?? 224);
const batch = Number(arg('batch') ?? 32);
const baseBatch = Number(arg('base-batch') ?? 1);
const verbose = process.argv.includes('--verbose');

interface Extra {
  filterSplits: number;
  bnSplits: number;
  /** Programs the splits add: one split sum per split filter gradient, one merge per split reduction
   * (a convolution's bias gradient comes out of its filter-gradient program: no reduction of its own). */
  programs: number;
  lines: string[];
}

function extraPrograms(model: tf.LayersModel, n: number): Extra {
  const e: Extra = { filterSplits: 0, bnSplits: 0, programs: 0, lines: [] };
  for (const layer of modelLayers(model, n)) {
    if (isConv(layer)) {
      const g = layer.geometry;
      const plan = filterGradPlan(g);
      if (plan.splits > 1) e.filterSplits++;
      e.lines.push(
        `${layer.name.padEnd(18)} ${g.kh}×${g.kw}/${g.sh} ${g.ci}→${g.co} at ${g.oh}×${g.ow}: filter gradient M ${plan.rows} × N ${g.co} × K ${plan.inner}, ${plan.splits} split(s) of ${plan.chunk}, ${plan.workgroups} workgroups`,
      );
    } else {
      const plan = channelReducePlan(layer.rows, layer.channels);
      // Statistics forward and [∂γ; ∂β] backward: one merge each when split.
      if (plan.splits > 1) e.bnSplits++;
      e.lines.push(
        `${layer.name.padEnd(18)} BN ${layer.channels} channels × ${layer.rows} rows: ${plan.splits} split(s) of ${plan.chunk} rows, ${Math.ceil(layer.channels / 32) * plan.splits} workgroups`,
      );
    }
  }
  e.programs = e.filterSplits + 2 * e.bnSplits;
  return e;
}

const model = createModel({ architecture: 'resnet50', inputSize: size, seed: 1 });
const at = extraPrograms(model, batch);
const base = extraPrograms(model, baseBatch);
if (verbose) console.log(at.lines.join('\n'));
console.log(
  `ResNet50 ${size} px, batch ${batch}: split filter gradients ${at.filterSplits}, split BN layers ${at.bnSplits} (statistics + [∂γ; ∂β]) → +${at.programs} programs per step`,
);
console.log(
  `batch ${baseBatch}: +${base.programs} → a step at batch ${batch} dispatches ${at.programs - base.programs} more programs than at batch ${baseBatch} (the same model otherwise; stock conv kernels may pick other algorithms by size)`,
);
model.dispose();
