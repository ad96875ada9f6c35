import { createPrismaClient, PROMOTE_ACTION, type ModelVersion, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { ScoringService } from '@fundus/services';
import { buildRun } from '../support/builders';

describe('promoting a model version to champion (PostgreSQL)', () => {
  let prisma: PrismaClient;
  let queues: JobQueues;
  let service: ScoringService;
  const versions: ModelVersion[] = [];

  beforeAll(async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    queues = new JobQueues(redisConnection(process.env.REDIS_URL!), `${process.env.QUEUE_PREFIX}-champion`);
    service = new ScoringService(prisma, queues);
    // This suite owns the champion flag of its database: start from none.
    await prisma.modelVersion.updateMany({ where: { champion: true }, data: { champion: false } });
    for (let i = 0; i < 4; i++) {
      const run = await buildRun(prisma);
      versions.push(
        await prisma.modelVersion.create({
          data: {
            runId: run.id,
            format: 'tfjs-layers',
            uri: `file:///models/${i}`,
            architecture: 'tiny-resnet',
            inputSize: 32,
            threshold: 0.3 + i / 10,
          },
        }),
      );
    }
  });

  afterAll(async () => {
    await queues?.close();
    await prisma?.$disconnect();
  });

  const champions = () => prisma.modelVersion.findMany({ where: { champion: true } });

  it('has no champion until one is promoted', async () => {
    expect(await service.getChampion()).toBeNull();
  });

  it('promotes, replaces the previous champion and writes an audit event each time', async () => {
    const actor = '11111111-1111-4111-8111-111111111111';
    const first = await service.promoteModelVersion(versions[0].id, { id: actor });
    expect(first).toMatchObject({
      changed: true,
      previousId: null,
      champion: { id: versions[0].id, champion: true, promotedBy: actor },
    });
    expect(first.champion.promotedAt).toBeInstanceOf(Date);

    const second = await service.promoteModelVersion(versions[1].id);
    expect(second).toMatchObject({ changed: true, previousId: versions[0].id });
    expect((await champions()).map((m) => m.id)).toEqual([versions[1].id]);
    expect((await service.getChampion())?.id).toBe(versions[1].id);

    const events = await prisma.auditEvent.findMany({
      where: { action: PROMOTE_ACTION, subject: { in: versions.map((v) => `model-version:${v.id}`) } },
      orderBy: { createdAt: 'asc' },
    });
    expect(
      events.map((e) => [
        e.subject,
        e.actorId,
        (e.details as { previousChampion: string | null }).previousChampion,
      ]),
    ).toEqual([
      [`model-version:${versions[0].id}`, actor, null],
      [`model-version:${versions[1].id}`, null, versions[0].id],
    ]);
  });

  it('promoting the champion again changes nothing', async () => {
    const before = await prisma.auditEvent.count({ where: { action: PROMOTE_ACTION } });
    expect(await service.promoteModelVersion(versions[1].id)).toMatchObject({ changed: false });
    expect(await prisma.auditEvent.count({ where: { action: PROMOTE_ACTION } })).toBe(before);
  });

  it('concurrent promotions leave exactly one champion', async () => {
    await Promise.all([2, 3, 0, 2, 3].map((i) => service.promoteModelVersion(versions[i].id)));
    expect(await champions()).toHaveLength(1);
  });

  it('refuses an unknown model version and leaves the champion alone', async () => {
    const before = (await service.getChampion())!.id;
    await expect(service.promoteModelVersion('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'not-found',
    });
    expect((await champions()).map((m) => m.id)).toEqual([before]);
  });
});
