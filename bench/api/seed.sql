-- Dashboard benchmark data: 20 datasets, 200 sweeps, 10,000 runs (with stored validation scores,
-- like real runs), 10 model versions and 1,000,000 predictions over 30 days of intake.
-- Deterministic: setseed() before every random().
SELECT setseed(0.42);

INSERT INTO "Dataset" (id, name, "storagePrefix", "labelMap", digest, counts, "createdAt")
SELECT gen_random_uuid(), 'bench-' || g, 'datasets/bench-' || g || '/', '{"disease": 1, "normal": 0}',
       'sha256:bench' || g, '{"train": {"0": 993, "1": 646}}', now() - interval '60 days'
FROM generate_series(1, 20) g;

INSERT INTO "Sweep" (id, "datasetId", space, strategy, objective, "baseConfig", status, "createdAt")
SELECT gen_random_uuid(), (SELECT id FROM "Dataset" ORDER BY name OFFSET (g % 20) LIMIT 1),
       '{"alpha": [0.5, 1, 2], "gamma": [0, 1, 2]}', 'grid', '{"kind": "specificity-at-sensitivity", "target": 0.95}', '{}',
       'succeeded', now() - (g * interval '3 hours')
FROM generate_series(1, 200) g;

CREATE TEMP TABLE ds AS SELECT row_number() OVER (ORDER BY name) - 1 AS i, id FROM "Dataset";
CREATE TEMP TABLE sw AS SELECT row_number() OVER (ORDER BY "createdAt") - 1 AS i, id FROM "Sweep";

INSERT INTO "Run" (id, "datasetId", "sweepId", "trialIndex", config, seed, status, progress, threshold,
                   auc, sensitivity, specificity, "valAuc", "valMetrics", "createdAt", "startedAt", "finishedAt")
SELECT gen_random_uuid(), ds.id,
       CASE WHEN g % 2 = 0 THEN sw.id END, CASE WHEN g % 2 = 0 THEN (g / 2) % 25 END,
       jsonb_build_object('loss', jsonb_build_object('kind', 'focal-seed', 'alpha', (g % 5) * 0.5, 'gamma', g % 3), 'epochs', 30),
       g,
       (CASE WHEN r.x < 0.80 THEN 'succeeded' WHEN r.x < 0.90 THEN 'failed' WHEN r.x < 0.95 THEN 'canceled'
             WHEN r.x < 0.98 THEN 'running' ELSE 'queued' END)::"WorkStatus",
       CASE WHEN r.x < 0.80 THEN 1 ELSE r.x END,
       CASE WHEN r.x < 0.80 THEN 0.3 + random() * 0.4 END,
       CASE WHEN r.x < 0.80 THEN 0.6 + random() * 0.39 END,
       CASE WHEN r.x < 0.80 THEN 0.7 + random() * 0.3 END,
       CASE WHEN r.x < 0.80 THEN 0.5 + random() * 0.5 END,
       CASE WHEN r.x < 0.80 THEN 0.6 + random() * 0.39 END,
       CASE WHEN r.x < 0.80 THEN (
         SELECT jsonb_build_object('labels', jsonb_agg(i % 2), 'scores', jsonb_agg(round(random()::numeric, 6)))
         FROM generate_series(1, 250 + 0 * g) i) END,
       now() - (g * interval '5 minutes'), now() - (g * interval '5 minutes') + interval '1 minute',
       CASE WHEN r.x < 0.95 THEN now() - (g * interval '5 minutes') + interval '20 minutes' END
FROM generate_series(1, 10000) g
CROSS JOIN LATERAL (SELECT random() + 0 * g AS x) r
JOIN ds ON ds.i = g % 20
JOIN sw ON sw.i = g % 200;

INSERT INTO "ModelVersion" (id, "runId", format, uri, architecture, "inputSize", threshold, champion, "createdAt")
SELECT gen_random_uuid(), id, 'tfjs-layers', 'file:///bench/models/' || id || '/model.json', 'resnet50', 224, threshold,
       row_number() OVER (ORDER BY "createdAt" DESC) = 1, "createdAt"
FROM (SELECT * FROM "Run" WHERE status = 'succeeded' ORDER BY "createdAt" DESC LIMIT 10) r;

CREATE TEMP TABLE mv AS SELECT row_number() OVER (ORDER BY "createdAt" DESC) - 1 AS i, id FROM "ModelVersion";

-- 1,000,000 predictions: 100,000 images a model version's day ~ 33,000 per day of intake.
INSERT INTO "Prediction" (id, key, etag, "modelVersionId", probability, label, threshold, ungradable, reason, "createdAt")
SELECT gen_random_uuid(),
       'intake/2026-10-' || lpad((1 + (g % 30))::text, 2, '0') || '/img-' || lpad(g::text, 7, '0') || '.jpg',
       '"' || md5(g::text) || '"',
       mv.id,
       CASE WHEN u.x >= 0.03 THEN p.y END,
       CASE WHEN u.x >= 0.03 THEN (p.y >= 0.5)::int END,
       0.5,
       u.x < 0.03,
       CASE WHEN u.x < 0.03 THEN 'too-dark' END,
       timestamp '2026-10-01' + ((g % 30) * interval '1 day') + ((g / 30) * interval '2 seconds')
FROM generate_series(1, 1000000) g
CROSS JOIN LATERAL (SELECT random() + 0 * g AS x) u
CROSS JOIN LATERAL (SELECT random() + 0 * g AS y) p
JOIN mv ON mv.i = g % 10;

ANALYZE;
