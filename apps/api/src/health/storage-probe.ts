import { access, constants, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createObjectStoreFromConfig, type ObjectStore, type StorageEnv } from '@fundus/storage';

export const STORAGE_PROBE = Symbol('STORAGE_PROBE');

/** Answers whether the configured object store can be reached. */
export interface StorageProbe {
  probe(): Promise<void>;
}

/** file:// roots: the folder exists (created if missing) and is writable. */
export function localStorageProbe(uri: string): StorageProbe {
  const path = uri.startsWith('file://./') ? resolve(uri.slice('file://'.length)) : fileURLToPath(uri);
  return {
    async probe() {
      await mkdir(path, { recursive: true });
      await access(path, constants.W_OK);
    },
  };
}

/** S3-compatible roots: one listing request of at most one key succeeds (bucket exists, credentials work). */
export function objectStoreProbe(store: ObjectStore): StorageProbe {
  return {
    async probe() {
      for await (const _ of store.list('', { pageSize: 1 })) break;
    },
  };
}

/** The probe for the configured STORAGE_URI. */
export function storageProbeFor(config: StorageEnv): StorageProbe {
  if (config.STORAGE_URI.startsWith('file://')) return localStorageProbe(config.STORAGE_URI);
  return objectStoreProbe(createObjectStoreFromConfig(config));
}
