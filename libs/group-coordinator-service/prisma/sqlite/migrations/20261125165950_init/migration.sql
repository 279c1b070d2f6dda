-- CreateTable
CREATE TABLE "ConsumerGroup" (
    "groupId" TEXT NOT NULL PRIMARY KEY,
    "shard" INTEGER NOT NULL,
    "protocolType" TEXT NOT NULL,
    "generation" INTEGER NOT NULL,
    "updatedAt" BIGINT NOT NULL
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

    PRIMARY KEY ("groupId", "topic", "partition"),
    CONSTRAINT "CommittedOffset_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "ConsumerGroup" ("groupId") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ConsumerGroup_shard_idx" ON "ConsumerGroup"("shard");
