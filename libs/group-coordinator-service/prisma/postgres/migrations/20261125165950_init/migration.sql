-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "ConsumerGroup" (
    "groupId" TEXT NOT NULL,
    "shard" INTEGER NOT NULL,
    "protocolType" TEXT NOT NULL,
    "generation" INTEGER NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "ConsumerGroup_pkey" PRIMARY KEY ("groupId")
);

-- CreateTable
CREATE TABLE "CommittedOffset" (
    "groupId" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    "leaderEpoch" INTEGER NOT NULL,
    "metadata" TEXT,
    "commitTime" BIGINT NOT NULL,

    CONSTRAINT "CommittedOffset_pkey" PRIMARY KEY ("groupId","topic","partition")
);

-- CreateIndex
CREATE INDEX "ConsumerGroup_shard_idx" ON "ConsumerGroup"("shard");

-- AddForeignKey
ALTER TABLE "CommittedOffset" ADD CONSTRAINT "CommittedOffset_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "ConsumerGroup"("groupId") ON DELETE CASCADE ON UPDATE CASCADE;
