/** The three splits a dataset item may belong to. */
export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** Class name → integer label, e.g. `{ disease: 1, normal: 0 }`. Never derived from folder order. */
export type LabelMap = Record<string, number>;

/** The default map of the seed project: positive class = disease. */
export const DEFAULT_LABEL_MAP: Readonly<LabelMap> = Object.freeze({ disease: 1, normal: 0 });

/** One image of a dataset; `key` is relative to the store's root. */
export interface DatasetItemRecord {
  key: string;
  /** Store ETag (quoted), identifies the content. */
  etag: string;
  label: number;
  split: Split;
  patientId?: string;
}

/** Counts per split and integer label (as a string key), e.g. `{ train: { '0': 993, '1': 646 }, ... }`. */
export type DatasetCounts = Record<Split, Record<string, number>>;

/** Identical content (same ETag) found in more than one split. */
export interface ContentLeak {
  etag: string;
  items: Array<{ key: string; split: Split }>;
}

export interface LeakageReport {
  /** Same ETag in two or more splits. */
  content: ContentLeak[];
  /**
   * Patients with images in two or more splits, as pseudonyms (`p:` + 12 hex of SHA-256), so that
   * reports and logs never carry patient identifiers.
   */
  patients: string[];
}

/** Everything registration decided, before it is stored. */
export interface DatasetPlan {
  name: string;
  /** URI of the dataset's prefix, e.g. `s3://bucket/datasets/seed/`. */
  storagePrefix: string;
  labelMap: LabelMap;
  /** Sorted by key. */
  items: DatasetItemRecord[];
  /** `sha256:<hex>` over the sorted (key, ETag, label, split) tuples. */
  digest: string;
  counts: DatasetCounts;
  leakage: LeakageReport;
  /** True when the validation split was carved out of train. */
  valCarved: boolean;
  /** Keys skipped as not being images (e.g. README.md, .DS_Store), relative to the prefix. */
  ignored: string[];
}

/** The slice of libs/db's DatasetsRepository that registration needs. */
export interface DatasetRegistry {
  register(d: {
    name: string;
    storagePrefix: string;
    labelMap: LabelMap;
    digest: string;
    counts: Record<string, Record<string, number>>;
    items: Array<{ key: string; etag: string; label: number; split: Split; patientId?: string | null }>;
    createdBy?: string | null;
  }): Promise<{ dataset: { id: string; digest: string }; created: boolean }>;
}

export type DatasetErrorCode =
  | 'invalid-label-map'
  | 'unknown-folders'
  | 'unknown-labels'
  | 'invalid-manifest'
  | 'missing-objects'
  | 'duplicate-keys'
  | 'empty-split'
  | 'leakage';

/** A dataset that cannot be registered; `problems` lists every offending item, not just the first. */
export class DatasetError extends Error {
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}: ${summarise(problems)}` : message);
    this.name = 'DatasetError';
  }
}

function summarise(problems: string[], max = 50): string {
  const shown = problems.slice(0, max).join('; ');
  return problems.length > max ? `${shown}; … and ${problems.length - max} more (see .problems)` : shown;
}
