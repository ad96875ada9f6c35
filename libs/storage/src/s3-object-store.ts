import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { StorageError } from './errors';
import { joinKey, parseStorageUri, validateKey, validatePrefix } from './keys';
import type { ListOptions, ObjectInfo, ObjectStore, PutBody, PutOptions, PutResult } from './object-store';
import { DEFAULT_RETRY_POLICY, backoffDelayMs, type RetryPolicy } from './retry';

/** Connection settings for an S3-compatible service (AWS, MinIO, s3rver, …). */
export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:9000`; omit for AWS. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by MinIO and s3rver. Default true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Static credentials; omitted = the SDK's default chain (env `AWS_ACCESS_KEY_ID`…, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Retries on throttling, 5xx, timeouts and network errors. */
  retry?: Partial<RetryPolicy>;
  /** TCP connect timeout, ms. Default 5,000. */
  connectionTimeoutMs?: number;
  /** Socket inactivity timeout per request, ms. Default 60,000. */
  requestTimeoutMs?: number;
  /** Multipart part size in bytes (>= 5 MiB). Default 8 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded in parallel. Default 4. */
  multipartConcurrency?: number;
  /** Keep-alive sockets per store. Default 64. */
  maxSockets?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Object store on one bucket (and optional key prefix) of an S3-compatible service. */
export class S3ObjectStore implements ObjectStore {
  readonly rootUri: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;

  /** `bucket` must already exist; `prefix` is '' or ends with '/'. */
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    options: S3StoreOptions = {},
  ) {
    if (prefix !== '' && !prefix.endsWith('/'))
      throw new StorageError('invalid-uri', `S3 prefix ${JSON.stringify(prefix)} must end with "/"`);
    this.rootUri = `s3://${bucket}/${prefix}`;
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.partSize = Math.max(MIN_PART_SIZE, options.partSizeBytes ?? 8 * 1024 * 1024);
    this.queueSize = Math.max(1, options.multipartConcurrency ?? 4);
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    const config: S3ClientConfig = {
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
      // One retry layer, ours: exponential back-off with jitter, on the SDK's classification of
      // throttling, transient (5xx, timeouts, resets) errors.
      retryStrategy: new ConfiguredRetryStrategy(policy.maxAttempts, (retry) =>
        backoffDelayMs(retry, policy),
      ),
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
        throwOnRequestTimeout: true,
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
      }),
      // S3-compatible servers (MinIO, s3rver) do not all speak the newer flexible checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.client = new S3Client(config);
  }

  async getBuffer(key: string): Promise<Buffer> {
    const body = await this.getBody(key);
    try {
      return Buffer.from(await body.transformToByteArray());
    } catch (err) {
      throw this.mapError(err, 'get', key);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const body = await this.getBody(key);
    return body as unknown as Readable;
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.fullKey(key);
    const contentType = options.contentType ?? 'application/octet-stream';
    try {
      if (body instanceof Readable || byteLength(body) > this.partSize) {
        // lib-storage buffers the stream into parts: one PutObject when it fits in a part,
        // a multipart upload otherwise (each part retried on its own, aborted on failure).
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: fullKey, Body: body, ContentType: contentType },
          partSize: this.partSize,
          queueSize: this.queueSize,
          leavePartsOnError: false,
        });
        const out = await upload.done();
        return { key, etag: normaliseEtag(out.ETag) };
      }
      const out = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: fullKey, Body: body, ContentType: contentType }),
      );
      return { key, etag: normaliseEtag(out.ETag) };
    } catch (err) {
      throw this.mapError(err, 'put', key);
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const fullKey = this.fullKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return {
        key,
        etag: normaliseEtag(out.ETag),
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
        contentType: out.ContentType,
      };
    } catch (err) {
      throw this.mapError(err, 'head', key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.head(key);
    } catch (err) {
      if (err instanceof StorageError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: pageSize,
            ContinuationToken: token,
          }),
        );
      } catch (err) {
        throw this.mapError(err, 'list', prefix);
      }
      for (const o of out.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key.slice(this.prefix.length),
          etag: normaliseEtag(o.ETag),
          size: o.Size ?? 0,
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (err) {
      const mapped = this.mapError(err, 'delete', key);
      if (mapped instanceof StorageError && mapped.code === 'not-found') return;
      throw mapped;
    }
  }

  uriFor(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  keyFromUri(uri: string): string {
    const loc = parseStorageUri(uri);
    const outside = new StorageError('outside-root', `${uri} is not inside ${this.rootUri}`);
    if (loc.scheme !== 's3' || loc.bucket !== this.bucket) throw outside;
    // parseStorageUri normalised the path to end with '/'; an object key does not.
    const full = loc.prefix.replace(/\/$/, '');
    if (!full.startsWith(this.prefix) || full.length === this.prefix.length) throw outside;
    return validateKey(full.slice(this.prefix.length));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    return joinKey(this.prefix, validateKey(key));
  }

  private async getBody(key: string) {
    const fullKey = this.fullKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      if (!out.Body)
        throw new StorageError('io', `get ${JSON.stringify(key)} in ${this.rootUri}: empty response body`);
      return out.Body;
    } catch (err) {
      throw this.mapError(err, 'get', key);
    }
  }

  private mapError(err: unknown, op: string, key: string): Error {
    if (err instanceof StorageError) return err;
    const e = err as {
      name?: string;
      code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
      $retryable?: unknown;
    };
    const status = e.$metadata?.httpStatusCode;
    const where = `${op} ${JSON.stringify(key)} in ${this.rootUri}`;
    const detail = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
    if (status === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound') {
      return new StorageError('not-found', `${where}: no such object`, { cause: err });
    }
    if (e.name === 'NoSuchBucket')
      return new StorageError('not-found', `${where}: bucket ${this.bucket} does not exist`, { cause: err });
    if (status === 403 || e.name === 'AccessDenied')
      return new StorageError('access-denied', `${where}: ${detail}`, { cause: err });
    if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' || e.name === 'RequestTimeout') {
      return new StorageError('timeout', `${where}: timed out after retries: ${detail}`, {
        cause: err,
        retryable: true,
      });
    }
    const network = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'];
    if (
      (status !== undefined && (status >= 500 || status === 429)) ||
      network.includes(e.code ?? '') ||
      e.$retryable
    ) {
      return new StorageError('unavailable', `${where}: service unavailable after retries: ${detail}`, {
        cause: err,
        retryable: true,
      });
    }
    return new StorageError('io', `${where}: ${detail}`, { cause: err });
  }
}

function byteLength(body: Exclude<PutBody, Readable>): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

/** S3 returns ETags quoted; some gateways do not. Always quoted here. */
function normaliseEtag(etag: string | undefined): string {
  if (!etag) return '""';
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
