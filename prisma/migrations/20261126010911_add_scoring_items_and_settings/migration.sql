-- CreateTable
CREATE TABLE "ScoringItem" (
    "id" UUID NOT NULL,
    "scoringJobId" UUID NOT NULL,
    "chunk" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "etag" TEXT NOT NULL,

    CONSTRAINT "ScoringItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" UUID,

    CONSTRAINT "Setting_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "ScoringItem_scoringJobId_chunk_idx" ON "ScoringItem"("scoringJobId", "chunk");

-- CreateIndex
CREATE UNIQUE INDEX "ScoringItem_scoringJobId_key_key" ON "ScoringItem"("scoringJobId", "key");

-- AddForeignKey
ALTER TABLE "ScoringItem" ADD CONSTRAINT "ScoringItem_scoringJobId_fkey" FOREIGN KEY ("scoringJobId") REFERENCES "ScoringJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;
