/** Why a storage operation failed; stable strings callers may branch on. */
export type StorageErrorCode =
  | 'invalid-uri'
  | 'invalid-key'
  | 'bucket-not-allowed'
  | 'outside-root'
  | 'not-found'
  | 'timeout'
  | 'unavailable'
  | 'access-denied'
  | 'io';

/** Every error thrown by libs/storage. `retryable` says whether trying again later may succeed. */
export class StorageError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.retryable = options?.retryable ?? false;
  }
}

/** True when `err` is a StorageError, optionally with the given code. */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
