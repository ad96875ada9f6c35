import { createPrismaClient, RunsRepository, DbError, type PrismaClient } from '@fundus/db';

describe('RunsRepository against PostgreSQL', () => {
  let prisma: PrismaClient;
  let runs: RunsRepository;
  let datasetId: string;

  beforeAll(async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    runs = new RunsRepository(prisma);
    const dataset = await prisma.dataset.create({
      data: {
        name: `ds-${Date.now()}`,
        storagePrefix: 'datasets/seed/',
        labelMap: { disease: 1, normal: 0 },
        digest: 'sha256:test',
        counts: { train: { '0': 3, '1': 2 } },
      },
    });
    datasetId = dataset.id;
  });

  afterAll(() => prisma.$disconnect());

  it('writes a run with its epochs and reads them back in order', async () => {
    const run = await runs.create({
      datasetId,
      seed: 7,
      config: { loss: { form: 'seed', alpha: 2, gamma: 2 }, epochs: 3 },
    });
    expect(run.status).toBe('queued');
    await runs.upsertEpoch(run.id, {
      epoch: 2,
      trainLoss: 0.4,
      valLoss: 0.5,
      valAuc: 0.81,
      lr: 1e-4,
      seconds: 3.5,
    });
    await runs.upsertEpoch(run.id, {
      epoch: 1,
      trainLoss: 0.6,
      valLoss: 0.7,
      valAuc: 0.7,
      lr: 1e-3,
      seconds: 3.1,
    });

    const read = await runs.getWithEpochs(run.id);
    expect(read?.config).toEqual({ loss: { form: 'seed', alpha: 2, gamma: 2 }, epochs: 3 });
    expect(read?.seed).toBe(7);
    expect(read?.epochs.map((e) => [e.epoch, e.trainLoss, e.valAuc])).toEqual([
      [1, 0.6, 0.7],
      [2, 0.4, 0.81],
    ]);
  });

  it('re-writing an epoch replaces it instead of duplicating it (a retried job)', async () => {
    const run = await runs.create({ datasetId, seed: 1, config: {} });
    await runs.upsertEpoch(run.id, { epoch: 1, trainLoss: 0.9, lr: 1e-3, seconds: 1 });
    await runs.upsertEpoch(run.id, { epoch: 1, trainLoss: 0.8, lr: 1e-3, seconds: 1 });
    const epochs = await runs.epochs(run.id);
    expect(epochs).toHaveLength(1);
    expect(epochs[0].trainLoss).toBe(0.8);
    expect(epochs[0].valAuc).toBeNull();
  });

  it('transitions status only from the allowed states', async () => {
    const run = await runs.create({ datasetId, seed: 1, config: {} });
    expect(await runs.transition(run.id, ['queued'], 'canceled')).toBe(true);
    // A late worker must not resurrect a canceled run.
    expect(await runs.transition(run.id, ['queued'], 'running', { startedAt: new Date() })).toBe(false);
    expect((await runs.get(run.id)).status).toBe('canceled');
  });

  it('reports a missing run with a typed error', async () => {
    await expect(runs.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(runs.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(DbError);
  });

  it('enforces one prediction per (key, etag, model version)', async () => {
    const run = await runs.create({ datasetId, seed: 1, config: {} });
    const model = await prisma.modelVersion.create({
      data: {
        runId: run.id,
        format: 'tfjs-layers',
        uri: 'file://m',
        architecture: 'tiny',
        inputSize: 64,
        threshold: 0.3,
      },
    });
    const row = { key: 'intake/a.jpg', etag: '"abc"', modelVersionId: model.id, probability: 0.7, label: 1 };
    await prisma.prediction.create({ data: row });
    await expect(prisma.prediction.create({ data: row })).rejects.toThrow(/Unique constraint/);
    await prisma.prediction.create({ data: { ...row, etag: '"changed"' } });
    expect(await prisma.prediction.count({ where: { key: 'intake/a.jpg' } })).toBe(2);
  });
});
