import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3ObjectStore, StorageError, createObjectStore, type S3StoreOptions } from '@fundus/storage';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { objectStoreContract } from './object-store-contract';

let s3: S3rverHandle;
const fast = (handle: S3rverHandle, extra: S3StoreOptions = {}): S3StoreOptions => ({
  endpoint: handle.endpoint,
  region: handle.region,
  forcePathStyle: true,
  credentials: handle.credentials,
  retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50 },
  partSizeBytes: 5 * 1024 * 1024,
  ...extra,
});

let counting: FaultProxy;
objectStoreContract('S3 (s3rver)', () => ({
  // s3rver answers a multipart upload with the MD5 of the whole object; AWS with "<hex>-<parts>".
  multipartEtags: true,
  byteOrderListing: false,
  async open() {
    s3 = await startS3rver();
    counting = await startFaultProxy(s3.endpoint);
    return createObjectStore(`s3://${s3.bucket}/contract`, {
      s3: fast(s3, { endpoint: counting.endpoint }),
      allowedBuckets: [s3.bucket],
    });
  },
  seed: (objects) =>
    s3.seed(
      s3.bucket,
      objects.map((o) => ({ key: `contract/${o.key}`, body: o.body })),
    ),
  partUploads: () => counting.log.filter((l) => /^PUT .*[?&]partNumber=/.test(l)).length,
  async teardown() {
    await counting.stop();
    await s3.stop();
  },
}));

describe('S3ObjectStore retries, timeouts and bucket checks', () => {
  let server: S3rverHandle;
  let proxy: FaultProxy;
  let store: S3ObjectStore;

  beforeAll(async () => {
    server = await startS3rver({ bucket: 'retry-bucket' });
    proxy = await startFaultProxy(server.endpoint);
    store = new S3ObjectStore(
      'retry-bucket',
      'p/',
      fast(server, { endpoint: proxy.endpoint, requestTimeoutMs: 1_000 }),
    );
  });
  afterAll(async () => {
    await store.close();
    await proxy.stop();
    await server.stop();
  });

  it('retries a put after injected 503 SlowDown and 500 InternalError responses', async () => {
    const before = proxy.requests;
    proxy.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    await store.put('a.txt', Buffer.from('hello'));
    expect(proxy.requests - before).toBe(3);
    expect((await store.getBuffer('a.txt')).toString()).toBe('hello');
  });

  it('retries reads after a dropped connection and a request that times out', async () => {
    await store.put('b.txt', Buffer.from('world'));
    proxy.inject({ kind: 'reset' }, { kind: 'hang' });
    const before = proxy.faulted;
    expect((await store.getBuffer('b.txt')).toString()).toBe('world');
    expect(proxy.faulted - before).toBe(2);
  });

  it('retries inside a multipart upload (create, parts, complete)', async () => {
    const big = Buffer.alloc(11 * 1024 * 1024, 7);
    proxy.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const { etag } = await store.put('big.bin', big);
    expect(etag).toMatch(/^"[0-9a-f]{32}(-3)?"$/);
    expect(proxy.log.filter((l) => /partNumber=/.test(l)).length).toBeGreaterThanOrEqual(3);
    expect((await store.head('big.bin')).size).toBe(big.length);
  });

  it('gives up after maxAttempts with a retryable "unavailable" StorageError', async () => {
    proxy.inject(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 503 })));
    const err = await store.head('a.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'unavailable', retryable: true });
    expect((err as Error).message).toMatch(/HTTP 503/);
    expect((await store.head('a.txt')).size).toBe(5);
  });

  it('does not retry client errors such as 403', async () => {
    const before = proxy.requests;
    proxy.inject({ kind: 'status', status: 403, code: 'AccessDenied' });
    await expect(store.head('a.txt')).rejects.toMatchObject({ code: 'access-denied' });
    expect(proxy.requests - before).toBe(1);
  });

  it('refuses buckets outside STORAGE_ALLOWED_BUCKETS and malformed URIs, saying why', async () => {
    expect(() => createObjectStore('s3://other-bucket/x', { allowedBuckets: ['retry-bucket'] })).toThrow(
      expect.objectContaining({
        code: 'bucket-not-allowed',
        message: expect.stringMatching(/not in STORAGE_ALLOWED_BUCKETS/),
      }),
    );
    expect(() => createObjectStore('s3://Bad_Bucket/x')).toThrow(
      expect.objectContaining({ code: 'invalid-uri' }),
    );
    expect(() => createObjectStore('s3://retry-bucket/a/../b')).toThrow(
      expect.objectContaining({ code: 'invalid-uri' }),
    );
    expect(() => createObjectStore('ftp://x/y')).toThrow(/not supported/);
    expect(() => createObjectStore('just-a-path')).toThrow(expect.objectContaining({ code: 'invalid-uri' }));
  });

  it('reports a missing bucket as not-found', async () => {
    const other = new S3ObjectStore('no-such-bucket', '', fast(server));
    await expect(other.getBuffer('x')).rejects.toMatchObject({ code: 'not-found' });
    await other.client.send(new CreateBucketCommand({ Bucket: 'no-such-bucket' }));
    await other.put('x', Buffer.from('now it exists'));
    expect((await other.getBuffer('x')).toString()).toBe('now it exists');
    await other.close();
  });
});
