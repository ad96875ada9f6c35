-- AlterTable
ALTER TABLE "ScoringItem" ADD COLUMN     "done" BOOLEAN NOT NULL DEFAULT false;
