import { validateKey, validatePrefix } from '../keys';
import type { ObjectStore } from '../object-store';
import {
  carveValidation,
  countItems,
  datasetDigest,
  describeLeakage,
  findLeakage,
  itemsFromLayout,
  itemsFromManifest,
  validateLabelMap,
  type ListedObject,
} from './dataset-logic';
import {
  DEFAULT_LABEL_MAP,
  DatasetError,
  SPLITS,
  type DatasetPlan,
  type DatasetRegistry,
  type LabelMap,
} from './dataset-types';

export interface PlanDatasetOptions {
  /** Unique dataset name. */
  name: string;
  /** Where the images are, relative to the store root, e.g. `datasets/seed/`. */
  prefix: string;
  /** CSV manifest key (relative to the store root). Without it, the folder layout is read. */
  manifestKey?: string;
  /** Default `{ disease: 1, normal: 0 }`. */
  labelMap?: LabelMap;
  /** Share of train moved to val when there is no val split, in (0, 1). Default 0.15. */
  valFraction?: number;
  /** Seed of the val carve. Default 0. */
  seed?: number;
  /** `reject` (default): leakage is an error; `report`: it is returned in the plan. */
  leakage?: 'reject' | 'report';
}

/**
 * Reads a dataset from `store` (one paginated listing, plus the manifest when given), validates it
 * and returns what registration would store. Throws DatasetError for unknown folders or labels,
 * missing objects, empty train/test splits, and (by default) leakage between splits.
 */
export async function planDataset(store: ObjectStore, options: PlanDatasetOptions): Promise<DatasetPlan> {
  const labelMap = validateLabelMap({ ...(options.labelMap ?? DEFAULT_LABEL_MAP) });
  const prefix =
    options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  validatePrefix(prefix);
  const listed: ListedObject[] = [];
  for await (const o of store.list(prefix))
    listed.push({ key: o.key, relative: o.key.slice(prefix.length), etag: o.etag });

  let items;
  let ignored: string[] = [];
  if (options.manifestKey !== undefined) {
    const manifestKey = validateKey(options.manifestKey);
    const csv = (await store.getBuffer(manifestKey)).toString('utf8');
    const etags = new Map(listed.map((o) => [o.relative, { key: o.key, etag: o.etag }]));
    items = itemsFromManifest(csv, etags, labelMap);
  } else {
    ({ items, ignored } = itemsFromLayout(listed, labelMap));
  }

  const present = new Set(items.map((i) => i.split));
  const valCarved = !present.has('val');
  if (valCarved) items = carveValidation(items, options.valFraction ?? 0.15, options.seed ?? 0);
  const empty = SPLITS.filter((s) => !items.some((i) => i.split === s));
  if (empty.length)
    throw new DatasetError(
      'empty-split',
      'every split needs at least one image',
      empty.map((s) => `split "${s}" is empty`),
    );

  const leakage = findLeakage(items);
  if ((options.leakage ?? 'reject') === 'reject' && (leakage.content.length || leakage.patients.length)) {
    throw new DatasetError(
      'leakage',
      'the same content or patient appears in more than one split',
      describeLeakage(leakage),
    );
  }
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    name: options.name,
    storagePrefix: store.rootUri.replace(/\/?$/, '/') + prefix,
    labelMap,
    items,
    digest: datasetDigest(items),
    counts: countItems(items, labelMap),
    leakage,
    valCarved,
    ignored,
  };
}

/**
 * `planDataset`, then stores the plan through `registry` (libs/db's DatasetsRepository). The same
 * name with the same digest is idempotent (`created: false`); another digest is a conflict error
 * raised by the registry.
 */
export async function registerDataset(
  store: ObjectStore,
  registry: DatasetRegistry,
  options: PlanDatasetOptions & { createdBy?: string },
): Promise<{ datasetId: string; created: boolean; plan: DatasetPlan }> {
  const plan = await planDataset(store, options);
  const { dataset, created } = await registry.register({
    name: plan.name,
    storagePrefix: plan.storagePrefix,
    labelMap: plan.labelMap,
    digest: plan.digest,
    counts: plan.counts,
    items: plan.items,
    createdBy: options.createdBy ?? null,
  });
  return { datasetId: dataset.id, created, plan };
}
