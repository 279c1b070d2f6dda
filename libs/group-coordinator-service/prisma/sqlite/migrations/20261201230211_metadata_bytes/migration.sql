-- RedefineTables
-- Edited from the generated copy: existing metadata text is stored as its UTF-8 bytes (CAST AS BLOB keeps the bytes).
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_CommittedOffset" (
    "groupId" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    "leaderEpoch" INTEGER NOT NULL,
    "metadata" BLOB,
    "commitTime" BIGINT NOT NULL,

    PRIMARY KEY ("groupId", "topic", "partition"),
    CONSTRAINT "CommittedOffset_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "ConsumerGroup" ("groupId") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_CommittedOffset" ("commitTime", "groupId", "leaderEpoch", "metadata", "offset", "partition", "topic") SELECT "commitTime", "groupId", "leaderEpoch", CAST("metadata" AS BLOB), "offset", "partition", "topic" FROM "CommittedOffset";
DROP TABLE "CommittedOffset";
ALTER TABLE "new_CommittedOffset" RENAME TO "CommittedOffset";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
