-- AlterTable
-- Edited from the generated DROP/ADD COLUMN so that existing metadata is kept: the text becomes its UTF-8 bytes.
ALTER TABLE "CommittedOffset" ALTER COLUMN "metadata" SET DATA TYPE BYTEA USING convert_to("metadata", 'UTF8');
