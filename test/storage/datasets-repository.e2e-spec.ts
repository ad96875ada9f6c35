import {
  DatasetConflictError,
  DatasetsRepository,
  DbError,
  createPrismaClient,
  type NewDataset,
  type PrismaClient,
} from '@fundus/db';

const build = (name: string, n: number, overrides: Partial<NewDataset> = {}): NewDataset => ({
  name,
  storagePrefix: 'file:///data/ds/',
  labelMap: { disease: 1, normal: 0 },
  digest: `sha256:${name}`,
  counts: { train: { '0': n, '1': 0 }, val: { '0': 0, '1': 0 }, test: { '0': 0, '1': 0 } },
  items: Array.from({ length: n }, (_, i) => ({
    key: `ds/train/normal/${String(i).padStart(5, '0')}.jpg`,
    etag: `"${i}"`,
    label: i % 2,
    split: i % 10 === 0 ? 'test' : 'train',
    patientId: i % 3 === 0 ? `P${i}` : null,
  })),
  ...overrides,
});

describe('DatasetsRepository against PostgreSQL', () => {
  let prisma: PrismaClient;
  let repo: DatasetsRepository;
  const run = Date.now().toString(36);

  beforeAll(() => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    repo = new DatasetsRepository(prisma);
  });
  afterAll(() => prisma.$disconnect());

  it('writes datasets larger than one insert batch, and reads items by split in key order', async () => {
    const { dataset, created } = await repo.register(build(`big-${run}`, 4_500));
    expect(created).toBe(true);
    expect(await repo.getByName(`big-${run}`)).toEqual(dataset);
    const all = await repo.items(dataset.id);
    expect(all).toHaveLength(4_500);
    expect(all.map((i) => i.key)).toEqual([...all.map((i) => i.key)].sort());
    const test = await repo.items(dataset.id, 'test');
    expect(test).toHaveLength(450);
    expect(all.find((i) => i.key.endsWith('00003.jpg'))?.patientId).toBe('P3');
    expect((await repo.list({ take: 5 })).map((d) => d.id)).toContain(dataset.id);
  });

  it('is idempotent on the same digest and a DatasetConflictError on another', async () => {
    const first = await repo.register(build(`idem-${run}`, 10));
    const again = await repo.register(build(`idem-${run}`, 10));
    expect(again).toEqual({ dataset: first.dataset, created: false });
    await expect(repo.register(build(`idem-${run}`, 10, { digest: 'sha256:other' }))).rejects.toBeInstanceOf(
      DatasetConflictError,
    );
    await expect(repo.register(build(`idem-${run}`, 10, { digest: 'sha256:other' }))).rejects.toMatchObject({
      code: 'conflict',
      existingDigest: `sha256:idem-${run}`,
      newDigest: 'sha256:other',
    });
  });

  it('rolls back the dataset row when an item fails to insert', async () => {
    const bad = build(`dup-${run}`, 3);
    bad.items[2] = { ...bad.items[2], key: bad.items[0].key }; // violates unique (datasetId, key)
    await expect(repo.register(bad)).rejects.toThrow();
    expect(await prisma.dataset.count({ where: { name: `dup-${run}` } })).toBe(0);
  });

  it('reports unknown ids and names as not-found', async () => {
    await expect(repo.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(repo.getByName(`nope-${run}`)).rejects.toBeInstanceOf(DbError);
  });
});
