import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { StorageError, type ObjectStore } from '@fundus/storage';

/** What a backend's test file provides to the shared contract. */
export interface ContractTarget {
  /** A fresh, empty store. */
  open(): Promise<ObjectStore>;
  /** Called after all tests. */
  teardown(): Promise<void>;
  /** S3 ETags of multipart uploads end in `-<parts>`; the local store always hashes the whole file. */
  multipartEtags: boolean;
  /**
   * Whether listings come in UTF-8 byte order of the full key, as AWS S3 and the local store do.
   * s3rver walks folders instead, so `a/b` comes before `a-b` there.
   */
  byteOrderListing: boolean;
  /**
   * Optional fast path for the 10,000-key test: writes objects (keys relative to the store's root)
   * through the backend's own storage code instead of `put`. The listing is still done by `list`.
   */
  seed?(objects: Array<{ key: string; body: Buffer }>): Promise<void>;
  /** Part uploads seen by the server since the start, when the target can count them. */
  partUploads?(): number;
}

const md5Etag = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of it) keys.push(o.key);
  return keys;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function expectStorageError(
  p: Promise<unknown>,
  code: string,
  messagePart?: RegExp,
): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).code).toBe(code);
  if (messagePart) expect((err as StorageError).message).toMatch(messagePart);
  return err as StorageError;
}

/** The behaviour every ObjectStore implementation must show. */
export function objectStoreContract(name: string, target: () => ContractTarget): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let t: ContractTarget;
    let store: ObjectStore;

    beforeAll(async () => {
      t = target();
      store = await t.open();
    });
    afterAll(async () => {
      await store?.close();
      await t?.teardown();
    });

    it('round-trips a buffer with an S3-style single-part ETag, size and content type', async () => {
      const body = randomBytes(4096);
      const put = await store.put('rt/one.bin', body, { contentType: 'image/jpeg' });
      expect(put.etag).toBe(md5Etag(body));
      expect(await store.getBuffer('rt/one.bin')).toEqual(body);
      const head = await store.head('rt/one.bin');
      expect(head).toMatchObject({
        key: 'rt/one.bin',
        etag: md5Etag(body),
        size: 4096,
        contentType: 'image/jpeg',
      });
      expect(head.lastModified).toBeInstanceOf(Date);
    });

    it('streams in and out, and a string body is UTF-8', async () => {
      const body = randomBytes(100_000);
      const put = await store.put(
        'rt/stream.bin',
        Readable.from([body.subarray(0, 30_000), body.subarray(30_000)]),
      );
      expect(put.etag).toBe(md5Etag(body));
      const chunks: Buffer[] = [];
      for await (const c of await store.getStream('rt/stream.bin')) chunks.push(Buffer.from(c as Uint8Array));
      expect(Buffer.concat(chunks)).toEqual(body);
      await store.put('rt/text.txt', 'fundus ✓');
      expect((await store.getBuffer('rt/text.txt')).toString('utf8')).toBe('fundus ✓');
    });

    it('overwrites change the ETag; missing keys are not-found; delete is idempotent', async () => {
      const a = await store.put('rt/over.bin', Buffer.from('a'));
      const b = await store.put('rt/over.bin', Buffer.from('b'));
      expect(a.etag).not.toBe(b.etag);
      expect((await store.head('rt/over.bin')).etag).toBe(b.etag);
      await store.delete('rt/over.bin');
      await store.delete('rt/over.bin');
      expect(await store.stat('rt/over.bin')).toBeUndefined();
      await expectStorageError(store.getBuffer('rt/over.bin'), 'not-found', /no such object/);
      await expectStorageError(store.getStream('rt/missing.bin'), 'not-found');
      await expectStorageError(store.head('rt/missing.bin'), 'not-found');
    });

    it('lists exactly the keys under a prefix', async () => {
      const keys = ['ord/a-b', 'ord/a/b', 'ord/a0', 'ord/a/a/z', 'ord/é', 'ord/Z', 'ord/a.b', 'ordx/other'];
      await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
      const expected = keys.filter((k) => k.startsWith('ord/')).sort(byteOrder);
      const sorted = async (prefix: string) => (await collect(store.list(prefix))).sort(byteOrder);
      expect(await sorted('ord/')).toEqual(expected);
      expect(await sorted('ord/a')).toEqual(expected.filter((k) => k.startsWith('ord/a')));
      expect(await collect(store.list('ord/a/'))).toEqual(['ord/a/a/z', 'ord/a/b']);
      if (t.byteOrderListing) expect(await collect(store.list('ord/'))).toEqual(expected);
      expect(await collect(store.list('nothing-here/'))).toEqual([]);
      const infos = [];
      for await (const o of store.list('ord/a/')) infos.push(o);
      expect(infos[1]).toMatchObject({ key: 'ord/a/b', etag: md5Etag(Buffer.from('ord/a/b')), size: 7 });
    });

    it('paginates 10,000 keys: every key exactly once, in order', async () => {
      const keys = Array.from(
        { length: 10_000 },
        (_, i) => `many/${String(i % 7)}/${String(i).padStart(5, '0')}.txt`,
      );
      if (t.seed) {
        // Most through the fast path, some through put, interleaved in key order.
        await t.seed(keys.filter((_, i) => i % 20 !== 0).map((k) => ({ key: k, body: Buffer.from(k) })));
        await parallel(
          keys.filter((_, i) => i % 20 === 0),
          16,
          (k) => store.put(k, Buffer.from(k)),
        );
      } else {
        await parallel(keys, 48, (k) => store.put(k, Buffer.from(k)));
      }
      const listed = await collect(store.list('many/', { pageSize: 1000 }));
      expect(listed).toHaveLength(10_000);
      expect(new Set(listed).size).toBe(10_000);
      expect(listed).toEqual([...keys].sort(byteOrder));
      const small = await collect(store.list('many/3/', { pageSize: 333 }));
      expect(small).toEqual(keys.filter((k) => k.startsWith('many/3/')).sort(byteOrder));
    });

    it('uploads a 12 MiB stream in parts and reads it back intact', async () => {
      const partsBefore = t.partUploads?.() ?? 0;
      const body = randomBytes(12 * 1024 * 1024);
      const chunks = Array.from({ length: 48 }, (_, i) => body.subarray(i * 262_144, (i + 1) * 262_144));
      const put = await store.put('big/model.bin', Readable.from(chunks), {
        contentType: 'application/octet-stream',
      });
      if (t.partUploads) expect(t.partUploads() - partsBefore).toBe(3); // 5 + 5 + 2 MiB
      if (t.multipartEtags) expect(put.etag).toMatch(/^"[0-9a-f]{32}(-3)?"$/);
      else expect(put.etag).toBe(md5Etag(body));
      const head = await store.head('big/model.bin');
      expect(head.size).toBe(body.length);
      expect(head.etag).toBe(put.etag);
      expect(sha256(await store.getBuffer('big/model.bin'))).toBe(sha256(body));
    });

    it.each([
      ['../escape.txt', /\.\./],
      ['a/../../escape.txt', /\.\./],
      ['a/./b', /"\." segment/],
      ['/etc/passwd', /absolute/],
      ['C:/Windows/x', /drive letter/],
      ['a\\..\\..\\x', /backslash/],
      ['a//b', /empty segment/],
      ['', /empty/],
      ['nul\u0000byte', /control character/],
      ['.fundus-meta/x', /reserved/],
      ['x'.repeat(1025), /longer than 1024/],
    ])('rejects the key %j before any I/O', async (key, why) => {
      await expectStorageError(store.put(key, Buffer.from('x')), 'invalid-key', why);
      await expectStorageError(store.getBuffer(key), 'invalid-key', why);
      await expectStorageError(store.head(key), 'invalid-key', why);
      await expectStorageError(store.delete(key), 'invalid-key', why);
      expect(() => store.uriFor(key)).toThrow(StorageError);
    });

    it('rejects traversal in list prefixes and URIs outside the root', async () => {
      await expectStorageError(collect(store.list('../')), 'invalid-key', /\.\./);
      await expectStorageError(collect(store.list('a/../../')), 'invalid-key', /\.\./);
      const uri = store.uriFor('rt/one.bin');
      expect(store.keyFromUri(uri)).toBe('rt/one.bin');
      expect(() => store.keyFromUri(store.rootUri.replace(/\/?$/, '/../x'))).toThrow(StorageError);
      expect(() => store.keyFromUri('s3://some-other-bucket/x')).toThrow(/not inside/);
      expect(() => store.keyFromUri('file:///etc/passwd')).toThrow(/not inside/);
    });
  });
}
