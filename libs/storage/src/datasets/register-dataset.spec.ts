import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore } from '../local-object-store';
import { patientPseudonym } from './dataset-logic';
import { DatasetError } from './dataset-types';
import { planDataset } from './register-dataset';

/** Tiny distinct bodies stand in for JPEGs: registration reads listings and ETags, not pixels. */
const body = (tag: string) => Buffer.from(`fake-jpeg:${tag}`);

async function writeAll(store: LocalObjectStore, files: Array<[string, Buffer]>): Promise<void> {
  for (let i = 0; i < files.length; i += 64)
    await Promise.all(files.slice(i, i + 64).map(([k, b]) => store.put(k, b)));
}

/** The seed project's layout: train 646 disease + 993 normal, test 100 disease + 150 normal, no val. */
function seedLayout(prefix: string): Array<[string, Buffer]> {
  const files: Array<[string, Buffer]> = [];
  const add = (split: string, cls: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const key = `${prefix}${split}/${cls}/${cls}_${String(i).padStart(4, '0')}.jpg`;
      files.push([key, body(key)]);
    }
  };
  add('train', 'disease', 646);
  add('train', 'normal', 993);
  add('test', 'disease', 100);
  add('test', 'normal', 150);
  return files;
}

async function thrown(p: Promise<unknown>): Promise<DatasetError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof DatasetError)) throw new Error(`expected a DatasetError, got ${String(err)}`);
  return err;
}

describe('planDataset on a local store', () => {
  let dir: string;
  let store: LocalObjectStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fundus-ds-'));
    store = new LocalObjectStore(path.join(dir, 'a'));
    await writeAll(store, [...seedLayout('seed/'), ['seed/README.md', Buffer.from('notes')]]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('registers the seed layout: labels from the map, val carved stratified from train, counts', async () => {
    const plan = await planDataset(store, { name: 'seed', prefix: 'seed', valFraction: 0.15, seed: 1 });
    expect(plan.storagePrefix).toBe(`${store.rootUri}/seed/`);
    expect(plan.valCarved).toBe(true);
    expect(plan.ignored).toEqual(['README.md']);
    expect(plan.counts).toEqual({
      train: { '0': 993 - 149, '1': 646 - 97 },
      val: { '0': 149, '1': 97 },
      test: { '0': 150, '1': 100 },
    });
    expect(plan.items).toHaveLength(1889);
    expect(plan.items.every((i) => (i.key.includes('/disease/') ? i.label === 1 : i.label === 0))).toBe(true);
    expect(plan.items.filter((i) => i.split === 'val').every((i) => i.key.startsWith('seed/train/'))).toBe(
      true,
    );
    expect(plan.leakage).toEqual({ content: [], patients: [] });
  });

  it('gives the same digest on every run and a new one after a relabel', async () => {
    const a = await planDataset(store, { name: 'seed', prefix: 'seed/', seed: 3 });
    const b = await planDataset(store, { name: 'seed', prefix: 'seed/', seed: 3 });
    expect(b.digest).toBe(a.digest);
    expect(b.items).toEqual(a.items);
    // A copy of the same files in another store (written in reverse order) digests the same.
    const other = new LocalObjectStore(path.join(dir, 'b'));
    await writeAll(other, seedLayout('seed/').reverse());
    expect((await planDataset(other, { name: 'seed', prefix: 'seed/', seed: 3 })).digest).toBe(a.digest);
    // Relabel one image: move it from normal/ to disease/.
    const key = 'seed/test/normal/normal_0007.jpg';
    const bytes = await other.getBuffer(key);
    await other.delete(key);
    await other.put('seed/test/disease/normal_0007.jpg', bytes);
    const relabelled = await planDataset(other, { name: 'seed', prefix: 'seed/', seed: 3 });
    expect(relabelled.digest).not.toBe(a.digest);
    expect(relabelled.counts.test).toEqual({ '0': 149, '1': 101 });
    // A different seed carves a different val split, hence a different digest.
    expect((await planDataset(store, { name: 'seed', prefix: 'seed/', seed: 4 })).digest).not.toBe(a.digest);
  });

  it('rejects an unknown label folder, naming all of them', async () => {
    await writeAll(store, [
      ['bad/train/normal/1.jpg', body('b1')],
      ['bad/train/glaucoma/2.jpg', body('b2')],
      ['bad/test/Disease/3.jpg', body('b3')],
      ['bad/test/normal/4.jpg', body('b4')],
    ]);
    const err = await thrown(planDataset(store, { name: 'bad', prefix: 'bad/' }));
    expect(err.code).toBe('unknown-folders');
    expect(err.problems).toEqual([
      'unknown class folder "test/Disease/" (label map has: disease, normal)',
      'unknown class folder "train/glaucoma/" (label map has: disease, normal)',
    ]);
  });

  it('reports identical content in two splits as leakage (rejected by default)', async () => {
    const same = body('duplicate fundus');
    await writeAll(store, [
      ['leak/train/disease/a.jpg', same],
      ['leak/train/normal/b.jpg', body('b')],
      ['leak/train/normal/c.jpg', body('c')],
      ['leak/val/normal/d.jpg', body('d')],
      ['leak/val/disease/e.jpg', body('e')],
      ['leak/test/disease/copy-of-a.jpg', same],
      ['leak/test/normal/f.jpg', body('f')],
    ]);
    const err = await thrown(planDataset(store, { name: 'leak', prefix: 'leak/' }));
    expect(err.code).toBe('leakage');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(
      /^identical content "[0-9a-f]{32}" in test:leak\/test\/disease\/copy-of-a.jpg, train:leak\/train\/disease\/a.jpg$/,
    );
    const plan = await planDataset(store, { name: 'leak', prefix: 'leak/', leakage: 'report' });
    expect(plan.valCarved).toBe(false);
    expect(plan.leakage.content).toHaveLength(1);
    expect(plan.leakage.content[0].items.map((i) => i.split)).toEqual(['test', 'train']);
  });

  it('registers a manifest with patients: val carved by patient, patient leakage by pseudonym', async () => {
    const rows = ['key,label,split,patient_id'];
    const files: Array<[string, Buffer]> = [];
    for (let p = 0; p < 40; p++) {
      for (let eye = 0; eye < 2; eye++) {
        const key = `images/p${p}_${eye}.png`;
        files.push([`man/${key}`, body(key)]);
        // Patients 0-29 train, 30-39 test; a patient's two eyes may have different labels.
        rows.push(
          `${key},${(p + eye) % 3 === 0 ? 'disease' : 'normal'},${p < 30 ? 'train' : 'test'},MRN-${p}`,
        );
      }
    }
    await writeAll(store, [...files, ['man/manifest.csv', Buffer.from(rows.join('\n'))]]);
    const plan = await planDataset(store, {
      name: 'man',
      prefix: 'man/',
      manifestKey: 'man/manifest.csv',
      valFraction: 0.2,
      seed: 11,
    });
    expect(plan.valCarved).toBe(true);
    const splitsOf = new Map<string, Set<string>>();
    for (const it of plan.items)
      splitsOf.set(it.patientId!, (splitsOf.get(it.patientId!) ?? new Set()).add(it.split));
    expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
    const valPatients = [...splitsOf].filter(([, s]) => s.has('val')).length;
    expect(valPatients).toBeGreaterThanOrEqual(5);
    expect(valPatients).toBeLessThanOrEqual(7);
    expect(plan.items.filter((i) => i.split === 'test')).toHaveLength(20);

    // The same patient declared in train and test is leakage, reported without the identifier.
    rows.push('images/extra.png,normal,test,MRN-0');
    await writeAll(store, [
      ['man/images/extra.png', body('extra')],
      ['man/manifest.csv', Buffer.from(rows.join('\n'))],
    ]);
    const err = await thrown(
      planDataset(store, { name: 'man', prefix: 'man/', manifestKey: 'man/manifest.csv' }),
    );
    expect(err.code).toBe('leakage');
    expect(err.problems).toEqual([`patient ${patientPseudonym('MRN-0')} has images in more than one split`]);
    expect(err.message).not.toContain('MRN');
  });

  it('needs train and test images', async () => {
    await writeAll(store, [['only/train/normal/a.jpg', body('oa')]]);
    const err = await thrown(planDataset(store, { name: 'only', prefix: 'only/' }));
    expect(err.code).toBe('empty-split');
    expect(err.problems).toEqual(['split "val" is empty', 'split "test" is empty']);
  });
});
