import type { Readable } from 'node:stream';

/** What `head` and `list` report about one object. */
export interface ObjectInfo {
  /** Key relative to the store's root. */
  key: string;
  /**
   * S3-style entity tag, quotes included: `"<md5 hex>"` for single-part writes,
   * `"<hex>-<parts>"` for S3 multipart uploads. Changes whenever the content changes.
   */
  etag: string;
  /** Size in bytes. */
  size: number;
  lastModified: Date;
  /** MIME type, when the backend reports it (`head` only). */
  contentType?: string;
}

/** Body accepted by `put`: bytes, a string (UTF-8) or a readable stream of bytes. */
export type PutBody = Buffer | Uint8Array | string | Readable;

export interface PutOptions {
  /** MIME type stored with the object; default `application/octet-stream`. */
  contentType?: string;
}

export interface PutResult {
  key: string;
  etag: string;
}

export interface ListOptions {
  /** Keys fetched per request (S3: 1..1000, default 1000). The iterator pages transparently. */
  pageSize?: number;
}

/**
 * One interface over S3-compatible stores and a local folder. Keys are relative to the store's root
 * (`s3://bucket/prefix/` or `file:///dir`), `/`-separated, validated by `validateKey`; a bad key
 * throws StorageError `invalid-key` before any I/O.
 */
export interface ObjectStore {
  /** The root URI this store was opened on, normalised (e.g. `s3://bucket/prefix/`, `file:///abs/dir`). */
  readonly rootUri: string;
  /** Whole object as bytes. StorageError `not-found` when absent. */
  getBuffer(key: string): Promise<Buffer>;
  /** Object as a byte stream (caller must consume or destroy it). StorageError `not-found` when absent. */
  getStream(key: string): Promise<Readable>;
  /**
   * Writes an object, replacing any previous one; readers see the old or the new object, never a
   * partial one. Streams are uploaded in parts (S3 multipart) once they exceed the part size.
   */
  put(key: string, body: PutBody, options?: PutOptions): Promise<PutResult>;
  /** Metadata without the body. StorageError `not-found` when absent. */
  head(key: string): Promise<ObjectInfo>;
  /** `head` that answers undefined instead of `not-found`. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object whose key starts with `prefix` ('' = all), each exactly once, fetched page by page.
   * AWS S3 and the local store yield keys in ascending UTF-8 byte order; some S3-compatible servers
   * (s3rver) walk folders instead, so do not rely on the order across backends.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  /** Deletes an object; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** The absolute URI of `key` (e.g. to store in the database). */
  uriFor(key: string): string;
  /** The key of an absolute URI inside this store's root; StorageError `outside-root` otherwise. */
  keyFromUri(uri: string): string;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}
