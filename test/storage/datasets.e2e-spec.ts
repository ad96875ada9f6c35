import { DatasetConflictError, DatasetsRepository, createPrismaClient, type PrismaClient } from '@fundus/db';
import { S3ObjectStore, registerDataset } from '@fundus/storage';
import { startS3rver, type S3rverHandle } from '../support/s3rver';

/** Seed project's layout (no val): train 646 disease + 993 normal, test 100 disease + 150 normal. */
function seedLayout(prefix: string) {
  const objects: Array<{ key: string; body: Buffer }> = [];
  const add = (split: string, cls: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const key = `${prefix}${split}/${cls}/${cls}_${String(i).padStart(4, '0')}.jpg`;
      objects.push({ key, body: Buffer.from(`fake-jpeg:${key}`) });
    }
  };
  add('train', 'disease', 646);
  add('train', 'normal', 993);
  add('test', 'disease', 100);
  add('test', 'normal', 150);
  return objects;
}

describe('dataset registration into PostgreSQL from S3 (s3rver)', () => {
  let s3: S3rverHandle;
  let store: S3ObjectStore;
  let prisma: PrismaClient;
  let repo: DatasetsRepository;
  const run = `${Date.now().toString(36)}`;

  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'datasets' });
    store = new S3ObjectStore('datasets', 'root/', {
      endpoint: s3.endpoint,
      credentials: s3.credentials,
      region: s3.region,
      retry: { baseDelayMs: 5 },
    });
    await s3.seed(
      'datasets',
      seedLayout('seed/').map((o) => ({ key: `root/${o.key}`, body: o.body })),
    );
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    repo = new DatasetsRepository(prisma);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await store?.close();
    await s3?.stop();
  });

  it('stores the seed layout with its items, counts and digest', async () => {
    const name = `seed-${run}`;
    const { datasetId, created, plan } = await registerDataset(store, repo, {
      name,
      prefix: 'seed/',
      seed: 5,
    });
    expect(created).toBe(true);
    const ds = await repo.get(datasetId);
    expect(ds).toMatchObject({
      name,
      storagePrefix: 's3://datasets/root/seed/',
      digest: plan.digest,
      labelMap: { disease: 1, normal: 0 },
    });
    expect(ds.counts).toEqual(plan.counts);
    const items = await repo.items(datasetId);
    expect(items).toHaveLength(1889);
    expect(items[0]).toMatchObject({
      key: plan.items[0].key,
      etag: plan.items[0].etag,
      label: plan.items[0].label,
      split: plan.items[0].split,
    });
    const test = await repo.items(datasetId, 'test');
    expect(test.filter((i) => i.label === 1)).toHaveLength(100);
    expect(test.filter((i) => i.label === 0)).toHaveLength(150);
    expect((await repo.items(datasetId, 'val')).length).toBe(plan.counts.val['0'] + plan.counts.val['1']);
    // ETags in the database are the store's: a worker can check an object is unchanged.
    const head = await store.head(items[0].key);
    expect(items[0].etag).toBe(head.etag);
  });

  it('is idempotent for the same content, concurrent calls included', async () => {
    const name = `again-${run}`;
    const [a, b] = await Promise.all([
      registerDataset(store, repo, { name, prefix: 'seed/', seed: 5 }),
      registerDataset(store, repo, { name, prefix: 'seed/', seed: 5 }),
    ]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.datasetId).toBe(b.datasetId);
    const c = await registerDataset(store, repo, { name, prefix: 'seed/', seed: 5 });
    expect(c).toMatchObject({ datasetId: a.datasetId, created: false });
    expect(await prisma.datasetItem.count({ where: { datasetId: a.datasetId } })).toBe(1889);
  });

  it('refuses the same name with different content as a typed conflict, storing nothing', async () => {
    const name = `conflict-${run}`;
    const first = await registerDataset(store, repo, { name, prefix: 'seed/', seed: 5 });
    // Relabel one image by moving it to the other class folder.
    const key = 'seed/test/normal/normal_0000.jpg';
    await store.put('seed/test/disease/normal_0000.jpg', await store.getBuffer(key));
    await store.delete(key);
    const err = await registerDataset(store, repo, { name, prefix: 'seed/', seed: 5 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatasetConflictError);
    expect(err).toMatchObject({ code: 'conflict', existingDigest: first.plan.digest });
    expect((err as Error).message).toMatch(/already registered with digest sha256:/);
    expect(await prisma.dataset.count({ where: { name } })).toBe(1);
    // Under a new name the relabelled dataset registers, with the new counts.
    const next = await registerDataset(store, repo, { name: `${name}-v2`, prefix: 'seed/', seed: 5 });
    expect(next.created).toBe(true);
    expect(next.plan.digest).not.toBe(first.plan.digest);
    expect(next.plan.counts.test).toEqual({ '0': 149, '1': 101 });
  });
});
