-- AlterTable
ALTER TABLE "ClusterState" ADD COLUMN     "leaseExpiresAt" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "leaseOwner" TEXT,
ADD COLUMN     "nextProducerId" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "ControllerInstance" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "adminPort" INTEGER NOT NULL,
    "startedAt" BIGINT NOT NULL,
    "lastSeenAt" BIGINT NOT NULL,

    CONSTRAINT "ControllerInstance_pkey" PRIMARY KEY ("id")
);
