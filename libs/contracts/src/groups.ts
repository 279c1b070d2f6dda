// Consumer groups on the bus. Groups hash onto GROUP_SHARDS shards; each shard is served by one live group
// coordinator, chosen by rendezvous hashing over the coordinators in the controller's metadata, so every node
// computes the same owner from the same image and a change of coordinators moves as few shards as possible.
// Gateways forward the Kafka group APIs to the shard's subject with the request body as the Kafka protocol encodes
// it (`GroupVerbs.kafka`); the coordinator answers with the response body at the same version.
import { murmur2 } from '@sluice/protocol';

/** Number of group shards; fixed for a cluster (Kafka's offsets.topic.num.partitions, 50). */
export const GROUP_SHARDS = 50;

/** Meta of a forwarded Kafka group request; the body is the request body encoded at `apiVersion`. */
export interface GroupApiRequest {
  apiKey: number;
  apiVersion: number;
  clientId: string;
  clientHost: string;
}

/**
 * Meta of the answer. `errorCode` 0: the body is the Kafka response body at the request's version. Otherwise (e.g.
 * NOT_COORDINATOR while a shard moves) there is no body and the gateway answers the client with that error.
 */
export interface GroupApiReply {
  errorCode: number;
  errorMessage: string | null;
}

/** The shard of a group id. */
export function groupShard(groupId: string, shards = GROUP_SHARDS): number {
  return (murmur2(Buffer.from(groupId, 'utf8')) & 0x7fffffff) % shards;
}

function score(shard: number, nodeId: number): number {
  return murmur2(Buffer.from(`${shard}/${nodeId}`, 'utf8')) >>> 0;
}

/** The coordinator (node id) that owns `shard` among `coordinators`, or undefined when there is none. */
export function shardOwner(shard: number, coordinators: readonly number[]): number | undefined {
  let best: number | undefined;
  let bestScore = -1;
  for (const id of coordinators) {
    const s = score(shard, id);
    if (s > bestScore || (s === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = s;
    }
  }
  return best;
}
