import fc from 'fast-check';
import {
  carveValidation,
  countItems,
  datasetDigest,
  findLeakage,
  itemsFromLayout,
  itemsFromManifest,
  parseCsv,
  patientPseudonym,
  validateLabelMap,
} from './dataset-logic';
import { DEFAULT_LABEL_MAP, DatasetError, type DatasetItemRecord } from './dataset-types';

const item = (
  key: string,
  label: number,
  split: DatasetItemRecord['split'],
  patientId?: string,
): DatasetItemRecord => ({
  key,
  etag: `"etag-${key}"`,
  label,
  split,
  ...(patientId ? { patientId } : {}),
});

function thrown(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DatasetError) return err;
    throw err;
  }
  throw new Error('expected a DatasetError');
}

describe('validateLabelMap', () => {
  it('accepts the default map and rejects duplicates, negatives and path-like names, listing all', () => {
    expect(validateLabelMap({ ...DEFAULT_LABEL_MAP })).toEqual({ disease: 1, normal: 0 });
    const err = thrown(() => validateLabelMap({ disease: 1, normal: 1, 'a/b': -1 }));
    expect(err.code).toBe('invalid-label-map');
    expect(err.problems).toEqual([
      '"disease" and "normal" share label 1',
      'class name "a/b" is not a plain folder name',
      'label of "a/b" must be an integer >= 0, got -1',
    ]);
  });
});

describe('itemsFromLayout', () => {
  const obj = (relative: string) => ({ key: `ds/${relative}`, relative, etag: `"${relative}"` });

  it('labels by the explicit map, never by folder order', () => {
    const objects = [
      obj('train/disease/a.jpg'),
      obj('train/normal/b.JPG'),
      obj('test/disease/c.png'),
      obj('test/normal/d.jpeg'),
    ];
    const { items } = itemsFromLayout(objects, { disease: 1, normal: 0 });
    expect(items.map((i) => [i.key, i.label, i.split])).toEqual([
      ['ds/train/disease/a.jpg', 1, 'train'],
      ['ds/train/normal/b.JPG', 0, 'train'],
      ['ds/test/disease/c.png', 1, 'test'],
      ['ds/test/normal/d.jpeg', 0, 'test'],
    ]);
    // The same folders with a map that says otherwise get the map's labels.
    const flipped = itemsFromLayout(objects, { normal: 1, disease: 0 }).items;
    expect(flipped.map((i) => i.label)).toEqual([0, 1, 0, 1]);
  });

  it('ignores non-images and rejects every unknown split and class folder at once', () => {
    const ok = itemsFromLayout(
      [obj('README.md'), obj('train/normal/.DS_Store'), obj('train/normal/x.jpg')],
      DEFAULT_LABEL_MAP,
    );
    expect(ok.ignored).toEqual(['README.md', 'train/normal/.DS_Store']);
    const err = thrown(() =>
      itemsFromLayout(
        [
          obj('train/glaucoma/1.jpg'),
          obj('train/normal/2.jpg'),
          obj('test/cataract/3.jpg'),
          obj('test/glaucoma/4.jpg'),
          obj('valid/normal/5.jpg'),
          obj('train/6.jpg'),
        ],
        DEFAULT_LABEL_MAP,
      ),
    );
    expect(err.code).toBe('unknown-folders');
    expect(err.problems).toEqual([
      'unknown split folder "valid/" (expected train/, val/, test/)',
      'unknown class folder "test/cataract/" (label map has: disease, normal)',
      'unknown class folder "test/glaucoma/" (label map has: disease, normal)',
      'unknown class folder "train/glaucoma/" (label map has: disease, normal)',
      'image "train/6.jpg" is not inside a <split>/<class>/ folder',
    ]);
    expect(err.message).toContain('train/glaucoma');
  });
});

describe('manifest', () => {
  const etags = new Map(
    ['a.jpg', 'b.jpg', 'c.jpg', 'sub/d "q".jpg'].map((k) => [k, { key: `ds/${k}`, etag: `"${k}"` }]),
  );

  it('parses quoted CSV with CRLF, a BOM and any column order', () => {
    expect(parseCsv('\uFEFFa,b\r\n"x,1","he said ""hi"""\r\n\r\n')).toEqual([
      ['a', 'b'],
      ['x,1', 'he said "hi"'],
    ]);
    const csv = 'split,patient_id,label,key\ntrain,P1,disease,a.jpg\ntest,,normal,"sub/d ""q"".jpg"\n';
    expect(itemsFromManifest(csv, etags, DEFAULT_LABEL_MAP)).toEqual([
      { key: 'ds/a.jpg', etag: '"a.jpg"', label: 1, split: 'train', patientId: 'P1' },
      { key: 'ds/sub/d "q".jpg', etag: '"sub/d "q".jpg"', label: 0, split: 'test' },
    ]);
  });

  it('rejects unknown labels and splits, listing all of them', () => {
    const csv = 'key,label,split\na.jpg,glaucoma,train\nb.jpg,1,train\nc.jpg,normal,holdout\n';
    const err = thrown(() => itemsFromManifest(csv, etags, DEFAULT_LABEL_MAP));
    expect(err.code).toBe('unknown-labels');
    expect(err.problems).toEqual([
      'unknown label "1" (label map has: disease, normal)',
      'unknown label "glaucoma" (label map has: disease, normal)',
      'unknown split "holdout" (expected train, val, test)',
    ]);
  });

  it('rejects missing objects, duplicate keys, traversal and a bad header', () => {
    expect(
      thrown(() =>
        itemsFromManifest(
          'key,label,split\nzzz.jpg,normal,train\nyyy.jpg,normal,test\n',
          etags,
          DEFAULT_LABEL_MAP,
        ),
      ),
    ).toMatchObject({
      code: 'missing-objects',
      problems: ['yyy.jpg', 'zzz.jpg'],
    });
    expect(
      thrown(() =>
        itemsFromManifest(
          'key,label,split\na.jpg,normal,train\na.jpg,normal,test\n',
          etags,
          DEFAULT_LABEL_MAP,
        ),
      ).code,
    ).toBe('duplicate-keys');
    expect(
      thrown(() => itemsFromManifest('key,label,split\n../a.jpg,normal,train\n', etags, DEFAULT_LABEL_MAP))
        .code,
    ).toBe('invalid-manifest');
    expect(
      thrown(() => itemsFromManifest('path,class\na.jpg,normal\n', etags, DEFAULT_LABEL_MAP)).problems,
    ).toEqual(['key', 'label', 'split']);
  });
});

describe('carveValidation', () => {
  const trainSet = (n: number, positives: number) =>
    Array.from({ length: n }, (_, i) =>
      item(`img/${String(i).padStart(4, '0')}.jpg`, i < positives ? 1 : 0, 'train'),
    );

  it('moves a stratified, seeded share of train to val, independent of input order', () => {
    const items = [...trainSet(1000, 400), item('t/1.jpg', 1, 'test')];
    const carved = carveValidation(items, 0.2, 7);
    const val = carved.filter((i) => i.split === 'val');
    expect(val.filter((i) => i.label === 1)).toHaveLength(80);
    expect(val.filter((i) => i.label === 0)).toHaveLength(120);
    expect(carved.find((i) => i.key === 't/1.jpg')?.split).toBe('test');
    const reversed = carveValidation([...items].reverse(), 0.2, 7);
    const valKeys = (xs: DatasetItemRecord[]) =>
      xs
        .filter((i) => i.split === 'val')
        .map((i) => i.key)
        .sort();
    expect(valKeys(reversed)).toEqual(valKeys(carved));
    expect(valKeys(carveValidation(items, 0.2, 8))).not.toEqual(valKeys(carved));
  });

  it('never puts one patient in two splits (property over random cohorts)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ patient: fc.integer({ min: 0, max: 30 }), label: fc.integer({ min: 0, max: 1 }) }),
          { minLength: 2, maxLength: 120 },
        ),
        fc.integer(),
        (rows, seed) => {
          const items = rows.map((r, i) => item(`k${i}`, r.label, 'train', `P${r.patient}`));
          const carved = carveValidation(items, 0.25, seed);
          const splits = new Map<string, Set<string>>();
          for (const it of carved)
            splits.set(it.patientId!, (splits.get(it.patientId!) ?? new Set()).add(it.split));
          return [...splits.values()].every((s) => s.size === 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('digest, counts and leakage', () => {
  const base = [item('a', 1, 'train'), item('b', 0, 'train'), item('c', 1, 'val'), item('d', 0, 'test')];

  it('digest is stable under reordering and changes with any relabel, move or content change', () => {
    const d = datasetDigest(base);
    expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(datasetDigest([...base].reverse())).toBe(d);
    base.forEach((_, i) => {
      const relabelled = base.map((it, j) => (j === i ? { ...it, label: 1 - it.label } : it));
      expect(datasetDigest(relabelled)).not.toBe(d);
      const moved = base.map((it, j) =>
        j === i ? { ...it, split: it.split === 'test' ? ('train' as const) : ('test' as const) } : it,
      );
      expect(datasetDigest(moved)).not.toBe(d);
      const edited = base.map((it, j) => (j === i ? { ...it, etag: '"changed"' } : it));
      expect(datasetDigest(edited)).not.toBe(d);
    });
  });

  it('counts per split and label, with zeros', () => {
    expect(countItems(base, DEFAULT_LABEL_MAP)).toEqual({
      train: { '0': 1, '1': 1 },
      val: { '0': 0, '1': 1 },
      test: { '0': 1, '1': 0 },
    });
  });

  it('reports identical content across splits and patients across splits by pseudonym only', () => {
    const items = [
      { ...item('train/x.jpg', 1, 'train', 'MRN-123'), etag: '"same"' },
      { ...item('test/y.jpg', 1, 'test', 'MRN-123'), etag: '"same"' },
      { ...item('train/z.jpg', 0, 'train', 'MRN-9'), etag: '"dup"' },
      { ...item('train/w.jpg', 0, 'train', 'MRN-9'), etag: '"dup"' },
    ];
    const report = findLeakage(items);
    expect(report.content).toEqual([
      {
        etag: '"same"',
        items: [
          { key: 'test/y.jpg', split: 'test' },
          { key: 'train/x.jpg', split: 'train' },
        ],
      },
    ]);
    expect(report.patients).toEqual([patientPseudonym('MRN-123')]);
    expect(JSON.stringify(report)).not.toContain('MRN');
  });
});
