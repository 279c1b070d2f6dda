-- CreateTable
CREATE TABLE "ClusterState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "clusterId" TEXT NOT NULL,
    "controllerEpoch" INTEGER NOT NULL,
    "metadataOffset" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "Node" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "role" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "ports" TEXT NOT NULL,
    "rack" TEXT,
    "state" TEXT NOT NULL,
    "incarnation" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "Topic" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "configs" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Partition" (
    "topicId" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "leader" INTEGER NOT NULL,
    "leaderEpoch" INTEGER NOT NULL,
    "partitionEpoch" INTEGER NOT NULL,
    "replicas" TEXT NOT NULL,
    "isr" TEXT NOT NULL,

    PRIMARY KEY ("topicId", "partition"),
    CONSTRAINT "Partition_topicId_fkey" FOREIGN KEY ("topicId") REFERENCES "Topic" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Topic_name_key" ON "Topic"("name");
