import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore, createObjectStore } from '@fundus/storage';
import { objectStoreContract } from './object-store-contract';

let dir = '';
objectStoreContract('local filesystem', () => ({
  multipartEtags: false,
  byteOrderListing: true,
  async open() {
    dir = await mkdtemp(path.join(tmpdir(), 'fundus-store-'));
    return createObjectStore(`file://${dir}/root`);
  },
  async teardown() {
    await rm(dir, { recursive: true, force: true });
  },
}));

describe('LocalObjectStore specifics', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'fundus-local-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('leaves no temporary files behind and writes nothing outside its root', async () => {
    const store = new LocalObjectStore(path.join(base, 'a', 'root'));
    await store.put('x/y.bin', Buffer.from('hello'));
    await expect(store.put('../../outside.txt', Buffer.from('no'))).rejects.toThrow(/path traversal/);
    expect(await readdir(path.join(base, 'a'))).toEqual(['root']);
    expect(await readdir(path.join(base, 'a', 'root', '.fundus-tmp'))).toEqual([]);
  });

  it('computes the ETag of files copied into the folder by hand, and notices later edits', async () => {
    const root = path.join(base, 'b');
    await mkdir(path.join(root, 'train', 'normal'), { recursive: true });
    await writeFile(path.join(root, 'train', 'normal', 'img.jpg'), 'v1');
    const store = new LocalObjectStore(root);
    const first = await store.head('train/normal/img.jpg');
    expect(first.etag).toBe('"6654c734ccab8f440ff0825eb443dc7f"'); // md5("v1")
    await writeFile(path.join(root, 'train', 'normal', 'img.jpg'), 'version 2');
    const second = await store.head('train/normal/img.jpg');
    expect(second.etag).not.toBe(first.etag);
    expect(second.size).toBe(9);
  });

  it('resolves relative file:// roots against cwd and reports key/folder collisions as invalid keys', async () => {
    const store = createObjectStore('file://./rel/root', { cwd: base });
    expect(store.rootUri).toBe(`file://${path.join(base, 'rel', 'root')}`);
    await store.put('k/inner', Buffer.from('1'));
    expect((await stat(path.join(base, 'rel', 'root', 'k', 'inner'))).isFile()).toBe(true);
    await expect(store.put('k', Buffer.from('2'))).rejects.toMatchObject({ code: 'invalid-key' });
    await expect(store.put('k/inner/deeper', Buffer.from('3'))).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});
