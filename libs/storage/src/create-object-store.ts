import { StorageError } from './errors';
import { parseStorageUri } from './keys';
import { LocalObjectStore } from './local-object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore, type S3StoreOptions } from './s3-object-store';

export interface CreateObjectStoreOptions {
  /** Settings for `s3://` roots. */
  s3?: S3StoreOptions;
  /** When non-empty, `s3://` roots must name one of these buckets. */
  allowedBuckets?: readonly string[];
  /** Base for relative `file://` paths; default `process.cwd()`. */
  cwd?: string;
}

/**
 * Opens the store rooted at `rootUri`: `s3://bucket[/prefix]` or `file://path`. Throws StorageError
 * `invalid-uri` for a malformed URI and `bucket-not-allowed` for a bucket outside `allowedBuckets`.
 */
export function createObjectStore(rootUri: string, options: CreateObjectStoreOptions = {}): ObjectStore {
  const loc = parseStorageUri(rootUri, options.cwd);
  if (loc.scheme === 'file') return new LocalObjectStore(loc.path);
  const allowed = options.allowedBuckets ?? [];
  if (allowed.length > 0 && !allowed.includes(loc.bucket)) {
    throw new StorageError(
      'bucket-not-allowed',
      `storage URI ${rootUri}: bucket "${loc.bucket}" is not in STORAGE_ALLOWED_BUCKETS (${allowed.join(', ')})`,
    );
  }
  return new S3ObjectStore(loc.bucket, loc.prefix, options.s3);
}

/** The storage variables of the app config (libs/config), by their environment names. */
export interface StorageEnv {
  STORAGE_URI: string;
  S3_ENDPOINT?: string;
  S3_REGION?: string;
  S3_FORCE_PATH_STYLE?: boolean;
  STORAGE_ALLOWED_BUCKETS?: readonly string[];
}

/** `createObjectStore` from validated config; credentials come from the SDK's default chain. */
export function createObjectStoreFromConfig(
  env: StorageEnv,
  extra: Omit<S3StoreOptions, 'endpoint' | 'region' | 'forcePathStyle'> = {},
): ObjectStore {
  return createObjectStore(env.STORAGE_URI, {
    allowedBuckets: env.STORAGE_ALLOWED_BUCKETS,
    s3: {
      ...extra,
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
    },
  });
}
