import { createHash } from 'node:crypto';
import {
  DatasetError,
  SPLITS,
  type ContentLeak,
  type DatasetCounts,
  type DatasetItemRecord,
  type LabelMap,
  type LeakageReport,
  type Split,
} from './dataset-types';

/** File extensions taken as images (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp', '.webp'];

const isImage = (key: string) => IMAGE_EXTENSIONS.some((ext) => key.toLowerCase().endsWith(ext));

/** Throws DatasetError `invalid-label-map` unless names are plain folder names and labels distinct integers >= 0. */
export function validateLabelMap(labelMap: LabelMap): LabelMap {
  const problems: string[] = [];
  const entries = Object.entries(labelMap ?? {});
  if (entries.length < 2) problems.push('it needs at least two classes');
  const seen = new Map<number, string>();
  for (const [name, label] of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
      problems.push(`class name ${JSON.stringify(name)} is not a plain folder name`);
    if (!Number.isInteger(label) || label < 0)
      problems.push(`label of "${name}" must be an integer >= 0, got ${JSON.stringify(label)}`);
    const other = seen.get(label);
    if (other !== undefined) problems.push(`"${other}" and "${name}" share label ${label}`);
    seen.set(label, name);
  }
  if (problems.length) throw new DatasetError('invalid-label-map', 'invalid label map', problems);
  return labelMap;
}

/** An object under the dataset prefix: key relative to the store root, `relative` to the prefix. */
export interface ListedObject {
  key: string;
  relative: string;
  etag: string;
}

/**
 * Items from a `{train,val,test}/{<class>}/…` layout. The label comes from the class folder's name
 * looked up in `labelMap` — never from folder order. Non-image files are returned in `ignored`.
 * Throws DatasetError `unknown-folders` naming every unknown split or class folder (and images
 * that sit outside any class folder).
 */
export function itemsFromLayout(
  objects: ListedObject[],
  labelMap: LabelMap,
): { items: DatasetItemRecord[]; ignored: string[] } {
  const items: DatasetItemRecord[] = [];
  const ignored: string[] = [];
  const unknownSplits = new Set<string>();
  const unknownClasses = new Set<string>();
  const misplaced: string[] = [];
  for (const o of objects) {
    if (!isImage(o.relative)) {
      ignored.push(o.relative);
      continue;
    }
    const parts = o.relative.split('/');
    if (parts.length < 3) {
      misplaced.push(o.relative);
      continue;
    }
    const [split, cls] = parts;
    if (!(SPLITS as readonly string[]).includes(split)) {
      unknownSplits.add(split);
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(labelMap, cls)) {
      unknownClasses.add(`${split}/${cls}`);
      continue;
    }
    items.push({ key: o.key, etag: o.etag, label: labelMap[cls], split: split as Split });
  }
  const problems = [
    ...[...unknownSplits].sort().map((s) => `unknown split folder "${s}/" (expected train/, val/, test/)`),
    ...[...unknownClasses]
      .sort()
      .map((c) => `unknown class folder "${c}/" (label map has: ${Object.keys(labelMap).sort().join(', ')})`),
    ...misplaced.sort().map((k) => `image "${k}" is not inside a <split>/<class>/ folder`),
  ];
  if (problems.length)
    throw new DatasetError('unknown-folders', 'the dataset layout has unknown folders', problems);
  return { items, ignored };
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). Returns rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const src = text.replace(/^\uFEFF/, '');
  while (i < src.length) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i += 1;
  }
  if (quoted) throw new DatasetError('invalid-manifest', 'the manifest has an unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

/**
 * Items from a CSV manifest with header `key,label,split[,patient_id]` (any column order, extra
 * columns ignored). `key` is relative to the dataset prefix; `label` is a class name of `labelMap`;
 * `split` is train, val or test. `etags` maps relative keys to the ETags found under the prefix.
 * Collects every problem (unknown labels/splits, missing objects, duplicates) before throwing.
 */
export function itemsFromManifest(
  csv: string,
  etags: Map<string, { key: string; etag: string }>,
  labelMap: LabelMap,
): DatasetItemRecord[] {
  const rows = parseCsv(csv);
  if (rows.length === 0) throw new DatasetError('invalid-manifest', 'the manifest is empty');
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const missingCols = ['key', 'label', 'split'].filter((c) => col(c) < 0);
  if (missingCols.length) {
    throw new DatasetError(
      'invalid-manifest',
      `the manifest header must have key,label,split[,patient_id]; missing`,
      missingCols,
    );
  }
  const [ki, li, si, pi] = [col('key'), col('label'), col('split'), col('patient_id')];
  const unknownLabels = new Set<string>();
  const unknownSplits = new Set<string>();
  const malformed: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const items: DatasetItemRecord[] = [];
  rows.slice(1).forEach((r, idx) => {
    const line = idx + 2;
    const rel = (r[ki] ?? '').trim();
    const labelName = (r[li] ?? '').trim();
    const split = (r[si] ?? '').trim().toLowerCase();
    const patient = pi >= 0 ? (r[pi] ?? '').trim() : '';
    if (
      rel === '' ||
      rel.startsWith('/') ||
      rel.split('/').some((s) => s === '..' || s === '.' || s === '')
    ) {
      malformed.push(`line ${line}: bad key ${JSON.stringify(rel)}`);
      return;
    }
    let bad = false;
    if (!Object.prototype.hasOwnProperty.call(labelMap, labelName)) {
      unknownLabels.add(labelName);
      bad = true;
    }
    if (!(SPLITS as readonly string[]).includes(split)) {
      unknownSplits.add(split);
      bad = true;
    }
    if (seen.has(rel)) {
      duplicates.add(rel);
      bad = true;
    }
    seen.add(rel);
    const found = etags.get(rel);
    if (!found) {
      missing.push(rel);
      bad = true;
    }
    if (bad || !found) return;
    items.push({
      key: found.key,
      etag: found.etag,
      label: labelMap[labelName],
      split: split as Split,
      ...(patient ? { patientId: patient } : {}),
    });
  });
  if (malformed.length)
    throw new DatasetError('invalid-manifest', 'the manifest has malformed rows', malformed);
  if (unknownLabels.size || unknownSplits.size) {
    throw new DatasetError('unknown-labels', 'the manifest has unknown labels or splits', [
      ...[...unknownLabels]
        .sort()
        .map(
          (l) =>
            `unknown label ${JSON.stringify(l)} (label map has: ${Object.keys(labelMap).sort().join(', ')})`,
        ),
      ...[...unknownSplits]
        .sort()
        .map((s) => `unknown split ${JSON.stringify(s)} (expected train, val, test)`),
    ]);
  }
  if (duplicates.size)
    throw new DatasetError(
      'duplicate-keys',
      'the manifest lists keys more than once',
      [...duplicates].sort(),
    );
  if (missing.length)
    throw new DatasetError(
      'missing-objects',
      'the manifest lists keys that do not exist under the prefix',
      missing.sort(),
    );
  return items;
}

/** Deterministic 32-bit PRNG (mulberry32); returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Moves about `fraction` (0 < fraction < 1) of the train items to val, stratified by class and
 * seeded, independent of input order. With patient ids, whole patients move (items without one
 * count as their own patient), stratified by the set of labels each patient has, so no patient ends
 * up in both splits. Every stratum with at least two units keeps one in train and gives one to val.
 */
export function carveValidation(
  items: DatasetItemRecord[],
  fraction: number,
  seed: number,
): DatasetItemRecord[] {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`valFraction must be in (0, 1), got ${fraction}`);
  const train = items.filter((i) => i.split === 'train').sort(byKey);
  const units = new Map<string, DatasetItemRecord[]>();
  for (const it of train) {
    const unit = it.patientId !== undefined ? `p:${it.patientId}` : `k:${it.key}`;
    const list = units.get(unit);
    if (list) list.push(it);
    else units.set(unit, [it]);
  }
  const strata = new Map<string, string[]>();
  for (const [unit, its] of units) {
    const stratum = [...new Set(its.map((i) => i.label))].sort((a, b) => a - b).join(',');
    const list = strata.get(stratum);
    if (list) list.push(unit);
    else strata.set(stratum, [unit]);
  }
  const rand = seededRandom(seed);
  const toVal = new Set<string>();
  for (const stratum of [...strata.keys()].sort()) {
    const unitIds = strata.get(stratum)!.sort();
    let n = Math.round(unitIds.length * fraction);
    if (unitIds.length >= 2) n = Math.min(unitIds.length - 1, Math.max(1, n));
    for (const u of shuffle(unitIds, rand).slice(0, n)) toVal.add(u);
  }
  return items.map((it) => {
    if (it.split !== 'train') return it;
    const unit = it.patientId !== undefined ? `p:${it.patientId}` : `k:${it.key}`;
    return toVal.has(unit) ? { ...it, split: 'val' } : it;
  });
}

/** `sha256:<hex>` over the (key, ETag, label, split) tuples sorted by key: changes with any relabel, move or edit. */
export function datasetDigest(items: DatasetItemRecord[]): string {
  const h = createHash('sha256');
  for (const it of [...items].sort(byKey))
    h.update(`${JSON.stringify([it.key, it.etag, it.label, it.split])}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** Counts per split and label, with zeros for every split and every label of the map. */
export function countItems(items: DatasetItemRecord[], labelMap: LabelMap): DatasetCounts {
  const labels = Object.values(labelMap).sort((a, b) => a - b);
  const counts = Object.fromEntries(
    SPLITS.map((s) => [s, Object.fromEntries(labels.map((l) => [String(l), 0]))]),
  ) as DatasetCounts;
  for (const it of items) counts[it.split][String(it.label)] += 1;
  return counts;
}

/** Pseudonym of a patient id for reports and logs. */
export function patientPseudonym(patientId: string): string {
  return `p:${createHash('sha256').update(patientId).digest('hex').slice(0, 12)}`;
}

/** Identical content (same ETag) and patients found in more than one split. */
export function findLeakage(items: DatasetItemRecord[]): LeakageReport {
  const byEtag = new Map<string, DatasetItemRecord[]>();
  const patientSplits = new Map<string, Set<Split>>();
  for (const it of items) {
    const list = byEtag.get(it.etag);
    if (list) list.push(it);
    else byEtag.set(it.etag, [it]);
    if (it.patientId !== undefined) {
      const s = patientSplits.get(it.patientId) ?? new Set<Split>();
      s.add(it.split);
      patientSplits.set(it.patientId, s);
    }
  }
  const content: ContentLeak[] = [];
  for (const [etag, its] of byEtag) {
    if (new Set(its.map((i) => i.split)).size > 1) {
      content.push({ etag, items: [...its].sort(byKey).map((i) => ({ key: i.key, split: i.split })) });
    }
  }
  content.sort((a, b) => byKey(a.items[0], b.items[0]));
  const patients = [...patientSplits]
    .filter(([, s]) => s.size > 1)
    .map(([p]) => patientPseudonym(p))
    .sort();
  return { content, patients };
}

/** Human-readable lines for a leakage report (no patient identifiers). */
export function describeLeakage(report: LeakageReport): string[] {
  return [
    ...report.content.map(
      (c) => `identical content ${c.etag} in ${c.items.map((i) => `${i.split}:${i.key}`).join(', ')}`,
    ),
    ...report.patients.map((p) => `patient ${p} has images in more than one split`),
  ];
}
