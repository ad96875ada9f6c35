-- CreateEnum
CREATE TYPE "DatasetSplit" AS ENUM ('train', 'val', 'test');

-- CreateEnum
CREATE TYPE "WorkStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'researcher', 'viewer');

-- CreateTable
CREATE TABLE "Dataset" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "storagePrefix" TEXT NOT NULL,
    "labelMap" JSONB NOT NULL,
    "digest" TEXT NOT NULL,
    "counts" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" UUID,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DatasetItem" (
    "id" UUID NOT NULL,
    "datasetId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "etag" TEXT NOT NULL,
    "label" INTEGER NOT NULL,
    "split" "DatasetSplit" NOT NULL,
    "patientId" TEXT,

    CONSTRAINT "DatasetItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Sweep" (
    "id" UUID NOT NULL,
    "name" TEXT,
    "datasetId" UUID NOT NULL,
    "space" JSONB NOT NULL,
    "strategy" TEXT NOT NULL,
    "trials" INTEGER,
    "seed" INTEGER NOT NULL DEFAULT 0,
    "objective" JSONB NOT NULL,
    "maxParallel" INTEGER NOT NULL DEFAULT 2,
    "medianStopping" BOOLEAN NOT NULL DEFAULT false,
    "baseConfig" JSONB NOT NULL,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "leaderboard" JSONB,
    "reportUri" TEXT,
    "bestRunId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdBy" UUID,

    CONSTRAINT "Sweep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Run" (
    "id" UUID NOT NULL,
    "datasetId" UUID NOT NULL,
    "sweepId" UUID,
    "trialIndex" INTEGER,
    "config" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "codeVersion" TEXT,
    "backend" TEXT,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "currentEpoch" INTEGER,
    "etaSeconds" DOUBLE PRECISION,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "threshold" DOUBLE PRECISION,
    "thresholdPolicy" JSONB,
    "valMetrics" JSONB,
    "testMetrics" JSONB,
    "auc" DOUBLE PRECISION,
    "sensitivity" DOUBLE PRECISION,
    "specificity" DOUBLE PRECISION,
    "valAuc" DOUBLE PRECISION,
    "objective" DOUBLE PRECISION,
    "checkpointUri" TEXT,
    "checkpointEpoch" INTEGER,
    "artifactUri" TEXT,
    "reportUri" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdBy" UUID,

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunEpoch" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "trainLoss" DOUBLE PRECISION NOT NULL,
    "valLoss" DOUBLE PRECISION,
    "valAuc" DOUBLE PRECISION,
    "lr" DOUBLE PRECISION NOT NULL,
    "seconds" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RunEpoch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "version" SERIAL NOT NULL,
    "format" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "onnxUri" TEXT,
    "architecture" TEXT NOT NULL,
    "inputSize" INTEGER NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "champion" BOOLEAN NOT NULL DEFAULT false,
    "promotedAt" TIMESTAMP(3),
    "promotedBy" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScoringJob" (
    "id" UUID NOT NULL,
    "modelVersionId" UUID NOT NULL,
    "prefix" TEXT NOT NULL,
    "trigger" TEXT NOT NULL DEFAULT 'manual',
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "totalKeys" INTEGER NOT NULL DEFAULT 0,
    "chunks" INTEGER NOT NULL DEFAULT 0,
    "chunksDone" INTEGER NOT NULL DEFAULT 0,
    "scored" INTEGER NOT NULL DEFAULT 0,
    "ungradable" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "resultsUri" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdBy" UUID,

    CONSTRAINT "ScoringJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "etag" TEXT NOT NULL,
    "modelVersionId" UUID NOT NULL,
    "scoringJobId" UUID,
    "probability" DOUBLE PRECISION,
    "label" INTEGER,
    "threshold" DOUBLE PRECISION,
    "ungradable" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Prediction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "actorId" UUID,
    "action" TEXT NOT NULL,
    "subject" TEXT,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_name_key" ON "Dataset"("name");

-- CreateIndex
CREATE INDEX "Dataset_createdAt_idx" ON "Dataset"("createdAt");

-- CreateIndex
CREATE INDEX "DatasetItem_datasetId_split_idx" ON "DatasetItem"("datasetId", "split");

-- CreateIndex
CREATE UNIQUE INDEX "DatasetItem_datasetId_key_key" ON "DatasetItem"("datasetId", "key");

-- CreateIndex
CREATE INDEX "Sweep_status_createdAt_idx" ON "Sweep"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Sweep_datasetId_idx" ON "Sweep"("datasetId");

-- CreateIndex
CREATE INDEX "Run_status_createdAt_idx" ON "Run"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Run_sweepId_idx" ON "Run"("sweepId");

-- CreateIndex
CREATE INDEX "Run_datasetId_createdAt_idx" ON "Run"("datasetId", "createdAt");

-- CreateIndex
CREATE INDEX "Run_auc_idx" ON "Run"("auc");

-- CreateIndex
CREATE INDEX "Run_sensitivity_idx" ON "Run"("sensitivity");

-- CreateIndex
CREATE INDEX "Run_specificity_idx" ON "Run"("specificity");

-- CreateIndex
CREATE INDEX "Run_createdAt_idx" ON "Run"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "RunEpoch_runId_epoch_key" ON "RunEpoch"("runId", "epoch");

-- CreateIndex
CREATE INDEX "ModelVersion_champion_idx" ON "ModelVersion"("champion");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_runId_format_key" ON "ModelVersion"("runId", "format");

-- CreateIndex
CREATE INDEX "ScoringJob_status_createdAt_idx" ON "ScoringJob"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Prediction_modelVersionId_createdAt_idx" ON "Prediction"("modelVersionId", "createdAt");

-- CreateIndex
CREATE INDEX "Prediction_key_idx" ON "Prediction"("key");

-- CreateIndex
CREATE INDEX "Prediction_label_createdAt_idx" ON "Prediction"("label", "createdAt");

-- CreateIndex
CREATE INDEX "Prediction_ungradable_createdAt_idx" ON "Prediction"("ungradable", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Prediction_key_etag_modelVersionId_key" ON "Prediction"("key", "etag", "modelVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "AuditEvent_createdAt_idx" ON "AuditEvent"("createdAt");

-- CreateIndex
CREATE INDEX "AuditEvent_subject_idx" ON "AuditEvent"("subject");

-- AddForeignKey
ALTER TABLE "DatasetItem" ADD CONSTRAINT "DatasetItem_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Sweep" ADD CONSTRAINT "Sweep_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunEpoch" ADD CONSTRAINT "RunEpoch_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ScoringJob" ADD CONSTRAINT "ScoringJob_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Prediction" ADD CONSTRAINT "Prediction_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
