-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "ClusterState" (
    "id" INTEGER NOT NULL,
    "clusterId" TEXT NOT NULL,
    "controllerEpoch" INTEGER NOT NULL,
    "metadataOffset" INTEGER NOT NULL,

    CONSTRAINT "ClusterState_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Node" (
    "id" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "ports" TEXT NOT NULL,
    "rack" TEXT,
    "state" TEXT NOT NULL,
    "incarnation" INTEGER NOT NULL,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Topic" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "configs" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Topic_pkey" PRIMARY KEY ("id")
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

    CONSTRAINT "Partition_pkey" PRIMARY KEY ("topicId","partition")
);

-- CreateIndex
CREATE UNIQUE INDEX "Topic_name_key" ON "Topic"("name");

-- AddForeignKey
ALTER TABLE "Partition" ADD CONSTRAINT "Partition_topicId_fkey" FOREIGN KEY ("topicId") REFERENCES "Topic"("id") ON DELETE CASCADE ON UPDATE CASCADE;
