// The console's one connection to Sluice: the generated HTTP API client (shared with the CLI), on the page's origin.
import { createSluiceClient, ok, type paths } from '@sluice/http-client';

export { ok };
export const api = createSluiceClient(location.origin);

type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends { responses: infer Rs }
  ? S extends keyof Rs
    ? JsonOf<Rs[S]>
    : never
  : never;

export type Cluster = Answer<'/cluster', 'get'>;
export type Topic = Answer<'/topics/{topic}', 'get'>;
export type Partition = Answer<'/topics/{topic}/partitions', 'get'>[number];
export type HttpRecord = Answer<'/topics/{topic}/partitions/{partition}/records', 'get'>[number];
export type Group = Answer<'/consumer-groups/{group}', 'get'>;
export type GroupSummary = Answer<'/consumer-groups', 'get'>[number];
export type LagRow = Answer<'/consumer-groups/{group}/lag', 'get'>[number];
export type ResetRequest = NonNullable<paths['/consumer-groups/{group}/offsets']['post']['requestBody']>['content']['application/json'];
export type ResetAnswer = Answer<'/consumer-groups/{group}/offsets', 'post'>;

export const topicPath = (topic: string) => ({ params: { path: { topic } } });
export const groupPath = (group: string) => ({ params: { path: { group } } });

/** Records held (end - beginning offset), over partitions. */
export function recordCount(partitions: Partition[]): number {
  return partitions.reduce((n, p) => n + Math.max(0, (p.end_offset ?? 0) - (p.beginning_offset ?? 0)), 0);
}

/** The sum of end offsets: how many records were ever written (for message rates between two samples). */
export function endOffsetSum(partitions: Partition[]): number {
  return partitions.reduce((n, p) => n + (p.end_offset ?? 0), 0);
}

/** A group's total lag over the partitions it has committed offsets for (null: no partition with a known lag). */
export function totalLag(rows: LagRow[]): number | null {
  const known = rows.filter((l) => l.lag !== null && l.lag !== undefined);
  return known.length ? known.reduce((n, l) => n + (l.lag ?? 0), 0) : null;
}
