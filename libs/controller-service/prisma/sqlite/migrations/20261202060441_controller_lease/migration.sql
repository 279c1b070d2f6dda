-- CreateTable
CREATE TABLE "ControllerInstance" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "adminPort" INTEGER NOT NULL,
    "startedAt" BIGINT NOT NULL,
    "lastSeenAt" BIGINT NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ClusterState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "clusterId" TEXT NOT NULL,
    "controllerEpoch" INTEGER NOT NULL,
    "metadataOffset" INTEGER NOT NULL,
    "leaseOwner" TEXT,
    "leaseExpiresAt" BIGINT NOT NULL DEFAULT 0,
    "nextProducerId" BIGINT NOT NULL DEFAULT 0
);
INSERT INTO "new_ClusterState" ("clusterId", "controllerEpoch", "id", "metadataOffset") SELECT "clusterId", "controllerEpoch", "id", "metadataOffset" FROM "ClusterState";
DROP TABLE "ClusterState";
ALTER TABLE "new_ClusterState" RENAME TO "ClusterState";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
