-- AlterTable
ALTER TABLE "Partition" ADD COLUMN "reassignment" TEXT;
