// Multi-row statements split so that none binds more parameters than the database takes: libSQL's SQLite stops at
// 32,766 and PostgreSQL's wire protocol at 65,535. Prisma splits its own `in: [...]` lists, but not raw statements, and
// one statement per row costs a round trip each (tens of thousands of partitions took minutes that way).

/** Most parameters one statement binds: well under both databases' limits. */
export const MAX_BIND_PARAMETERS = 10_000;

/** `rows` in consecutive chunks of at most `MAX_BIND_PARAMETERS / paramsPerRow` rows (none when `rows` is empty). */
export function chunkRows<T>(rows: readonly T[], paramsPerRow: number, maxParameters = MAX_BIND_PARAMETERS): T[][] {
  if (!Number.isInteger(paramsPerRow) || paramsPerRow < 1 || paramsPerRow > maxParameters) {
    throw new RangeError(`paramsPerRow must be between 1 and ${maxParameters}, got ${paramsPerRow}`);
  }
  const size = Math.floor(maxParameters / paramsPerRow);
  const chunks: T[][] = [];
  for (let at = 0; at < rows.length; at += size) chunks.push(rows.slice(at, at + size));
  return chunks;
}
