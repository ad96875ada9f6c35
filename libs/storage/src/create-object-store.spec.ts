import * as path from 'node:path';
import { createObjectStore, createObjectStoreFromConfig } from './create-object-store';
import { LocalObjectStore } from './local-object-store';
import { S3ObjectStore } from './s3-object-store';

describe('createObjectStore', () => {
  it('opens the app default (file://./.data/storage) relative to cwd', () => {
    const store = createObjectStoreFromConfig({ STORAGE_URI: 'file://./.data/storage' });
    expect(store).toBeInstanceOf(LocalObjectStore);
    expect(store.rootUri).toBe(`file://${path.resolve('.data/storage')}`);
  });

  it('opens S3 roots with the config settings and checks the allowed buckets', async () => {
    const store = createObjectStoreFromConfig({
      STORAGE_URI: 's3://fundus-data/prod',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'eu-west-1',
      S3_FORCE_PATH_STYLE: true,
      STORAGE_ALLOWED_BUCKETS: ['fundus-data'],
    });
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.rootUri).toBe('s3://fundus-data/prod/');
    expect(store.uriFor('a b/c#1.jpg')).toBe('s3://fundus-data/prod/a b/c#1.jpg');
    expect(store.keyFromUri('s3://fundus-data/prod/a b/c#1.jpg')).toBe('a b/c#1.jpg');
    expect(() => store.keyFromUri('s3://fundus-data/other/x.jpg')).toThrow(
      expect.objectContaining({ code: 'outside-root' }),
    );
    expect(await (store as S3ObjectStore).client.config.region()).toBe('eu-west-1');
    await store.close();
    expect(() =>
      createObjectStoreFromConfig({
        STORAGE_URI: 's3://elsewhere/x',
        STORAGE_ALLOWED_BUCKETS: ['fundus-data'],
      }),
    ).toThrow(expect.objectContaining({ code: 'bucket-not-allowed' }));
  });

  it('round-trips local URIs of keys with spaces and URL-special characters', () => {
    const store = createObjectStore('file:///srv/fundus data');
    const uri = store.uriFor('a b/c#1%.jpg');
    expect(uri).toBe('file:///srv/fundus%20data/a%20b/c%231%25.jpg');
    expect(store.keyFromUri(uri)).toBe('a b/c#1%.jpg');
    expect(() => store.keyFromUri('file:///srv/fundus%20data/..%2Fescape')).toThrow();
  });
});
