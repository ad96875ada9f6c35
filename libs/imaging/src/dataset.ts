import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { hashSeed, Rng } from './random';
import { generateFundus, SEVERITIES, type Severity } from './synthetic';

/** Class label of the seed data set layout. Positive class = disease. */
export type FundusLabel = 'normal' | 'disease';
export type SplitName = 'train' | 'val' | 'test';

export interface ClassCounts {
  normal: number;
  disease: number;
}

/** Options of {@link writeSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Output folder (created). */
  root: string;
  /** Images per split and class. Default: the seed's 993/646 train and 150/100 test, no val. */
  counts?: { train: ClassCounts; test: ClassCounts; val?: ClassCounts };
  /** Image side in pixels. Default 1024 (the seed-sized set then takes minutes; tests pass 64–256). */
  size?: number;
  seed: number;
  /** Relative weights of disease severities. Default uniform over subtle/mild/moderate/severe. */
  severityMix?: Partial<Record<Severity, number>>;
  /** Probability 0–1 that an image's recorded label is flipped (the pixels keep the true class). Default 0. */
  labelNoise?: number;
  /** Images generated concurrently (encoding overlaps rendering). Default 2. */
  concurrency?: number;
}

/** One manifest row. `key` is relative to the root, with forward slashes. */
export interface ManifestRow {
  key: string;
  /** Recorded label (after label noise) — what the folder and manifest.csv say. */
  label: FundusLabel;
  split: SplitName;
  patientId: string;
  /** What was actually drawn; differs from `label` only under label noise. */
  trueLabel: FundusLabel;
  severity: Severity | null;
  seed: number;
}

export interface SyntheticManifest {
  root: string;
  /** Absolute path of manifest.csv (`key,label,split,patient_id`). */
  manifestPath: string;
  rows: ManifestRow[];
}

/** The seed data set's class counts. */
export const SEED_COUNTS = { train: { normal: 993, disease: 646 }, test: { normal: 150, disease: 100 } };

function pickSeverity(rng: Rng, mix: Partial<Record<Severity, number>> | undefined): Severity {
  const w = SEVERITIES.map((s) => (mix ? (mix[s] ?? 0) : 1));
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('severityMix: weights must sum to > 0');
  let u = rng.random() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return SEVERITIES[i];
  }
  return SEVERITIES[SEVERITIES.length - 1];
}

/**
 * Writes a synthetic data set in the seed's layout — `<split>/<label>/<id>.jpg` — plus `manifest.csv`
 * with columns `key,label,split,patient_id`. Deterministic in the options. File names carry no label
 * information; within a split, images are shuffled and some patients contribute two images (both eyes).
 * Labels in the manifest are explicit: never derive them from folder sort order.
 */
export async function writeSyntheticDataset(opts: SyntheticDatasetOptions): Promise<SyntheticManifest> {
  const counts: { train: ClassCounts; test: ClassCounts; val?: ClassCounts } = opts.counts ?? SEED_COUNTS;
  const size = opts.size ?? 1024;
  const noise = opts.labelNoise ?? 0;
  if (!(noise >= 0 && noise <= 1)) throw new RangeError('labelNoise must be in [0, 1]');
  const rng = new Rng(hashSeed(opts.seed, 0x64617461));
  const rows: ManifestRow[] = [];
  let patient = 0;
  let imageNo = 0;
  const splits: SplitName[] = ['train', 'val', 'test'];
  for (const split of splits) {
    const c = split === 'val' ? counts.val : counts[split];
    if (!c) continue;
    const items: { trueLabel: FundusLabel }[] = [];
    for (let i = 0; i < c.normal; i++) items.push({ trueLabel: 'normal' });
    for (let i = 0; i < c.disease; i++) items.push({ trueLabel: 'disease' });
    // Seeded Fisher–Yates shuffle so ids and patients do not follow the class.
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    let eyesLeft = 0;
    for (const it of items) {
      if (eyesLeft === 0) {
        patient++;
        eyesLeft = rng.chance(0.4) ? 2 : 1;
      }
      eyesLeft--;
      imageNo++;
      const seed = hashSeed(opts.seed, imageNo);
      const severity = it.trueLabel === 'disease' ? pickSeverity(rng, opts.severityMix) : null;
      const flip = noise > 0 && rng.chance(noise);
      const label: FundusLabel = flip ? (it.trueLabel === 'disease' ? 'normal' : 'disease') : it.trueLabel;
      const id = `img-${String(imageNo).padStart(6, '0')}`;
      rows.push({
        key: `${split}/${label}/${id}.jpg`,
        label,
        split,
        patientId: `P${String(patient).padStart(6, '0')}`,
        trueLabel: it.trueLabel,
        severity,
        seed,
      });
    }
  }
  const dirs = new Set(rows.map((r) => path.join(opts.root, path.dirname(r.key))));
  for (const d of dirs) await mkdir(d, { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const r = rows[next++];
      const jpg = await generateFundus({
        seed: r.seed,
        size,
        disease: r.trueLabel === 'disease',
        severity: r.severity ?? undefined,
      });
      await writeFile(path.join(opts.root, r.key), jpg);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  const manifestPath = path.resolve(opts.root, 'manifest.csv');
  const csv = [
    'key,label,split,patient_id',
    ...rows.map((r) => `${r.key},${r.label},${r.split},${r.patientId}`),
  ].join('\n');
  await writeFile(manifestPath, csv + '\n');
  return { root: path.resolve(opts.root), manifestPath, rows };
}
