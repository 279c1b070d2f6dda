// Kafka inputs: request frames for every served API, encoded with the generated codecs (plus the golden frames captured
// from kcat, KafkaJS and @platformatic/kafka), then mutated — bytes, lengths, varints, versions, API keys — and framed
// with honest or desynchronised length prefixes (zero, negative, huge, off by some, split across writes).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafka, writeRequestHeader, Writer } from '@sluice/protocol';
import { workspaceRoot } from '@sluice/testing';
import { mutateBytes, splitRandomly } from './mutate.js';
import type { Rng } from './prng.js';

/** Topics and groups the fuzzer may touch. The canary topic is none of these, so no input names it but by chance. */
export const FUZZ_TOPICS = ['fuzz-a', 'fuzz-compact', 'fuzz-t0', 'fuzz-t1', 'fuzz-t2', 'fuzz-t3', 'no-such-topic'];
export const FUZZ_GROUPS = ['fuzz-g0', 'fuzz-g1', 'fuzz-g2'];

/** A request body to encode at any version: a plain object in the shape of the generated `…Request` interface. */
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

type Template = (rng: Rng) => Record<string, unknown>;

const topic = (rng: Rng): string => rng.pick(FUZZ_TOPICS);
const group = (rng: Rng): string => rng.pick(FUZZ_GROUPS);
const partitions = (rng: Rng): number[] => Array.from({ length: rng.range(1, 3) }, () => rng.pick([0, 1, 2, 3, -1, 1000]));
const offset = (rng: Rng): number => rng.pick([0, 1, 5, -1, -2, -3, 1e6, Number.MAX_SAFE_INTEGER]);

/** Valid-looking requests for the APIs whose bodies matter most; the others start from `{}` (the codecs fill defaults). */
const TEMPLATES: Record<string, Template> = {
  Fetch: (rng) => ({
    replicaId: -1,
    maxWaitMs: rng.pick([0, 10, 100]),
    minBytes: rng.pick([0, 1]),
    maxBytes: rng.pick([1024, 1 << 20, 0x7fffffff]),
    isolationLevel: rng.int(2),
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: topic(rng), topicId: ZERO_UUID, partitions: partitions(rng).map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: offset(rng), lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: rng.pick([1, 1024, 1 << 20]) })) }],
    forgottenTopicsData: [],
    rackId: '',
  }),
  ListOffsets: (rng) => ({ replicaId: -1, isolationLevel: rng.int(2), topics: [{ name: topic(rng), partitions: partitions(rng).map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: rng.pick([-1, -2, -3, 0, Date.now(), 8.64e15]), maxNumOffsets: 1 })) }], timeoutMs: 1000 }),
  Metadata: (rng) => ({ topics: rng.chance(0.3) ? null : [{ name: topic(rng), topicId: ZERO_UUID }], allowAutoTopicCreation: rng.chance(0.5), includeTopicAuthorizedOperations: false }),
  OffsetCommit: (rng) => ({ groupId: group(rng), generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: topic(rng), partitions: partitions(rng).map((p) => ({ partitionIndex: p, committedOffset: offset(rng), committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: rng.chance(0.5) ? null : 'm' })) }] }),
  OffsetFetch: (rng) => ({ groupId: group(rng), topics: [{ name: topic(rng), partitionIndexes: partitions(rng) }], groups: [{ groupId: group(rng), topics: rng.chance(0.3) ? null : [{ name: topic(rng), partitionIndexes: partitions(rng) }] }], requireStable: rng.chance(0.5) }),
  FindCoordinator: (rng) => ({ key: group(rng), keyType: rng.int(2), coordinatorKeys: [group(rng)] }),
  JoinGroup: (rng) => ({ groupId: group(rng), sessionTimeoutMs: rng.pick([6000, 10, 0x7fffffff]), rebalanceTimeoutMs: rng.pick([100, 6000]), memberId: '', groupInstanceId: rng.chance(0.3) ? 'static-1' : null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 102, 117, 122, 122, 45, 97, 0, 0, 0, 0]) }], reason: null }),
  Heartbeat: (rng) => ({ groupId: group(rng), generationId: rng.pick([0, 1, -1]), memberId: 'm-1' }),
  LeaveGroup: (rng) => ({ groupId: group(rng), memberId: 'm-1', members: [{ memberId: 'm-1', groupInstanceId: null }] }),
  SyncGroup: (rng) => ({ groupId: group(rng), generationId: 1, memberId: 'm-1', protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: 'm-1', assignment: Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 102, 117, 122, 122, 45, 97, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }] }),
  DescribeGroups: (rng) => ({ groups: [group(rng)], includeAuthorizedOperations: false }),
  ListGroups: () => ({ statesFilter: [], typesFilter: [] }),
  SaslHandshake: (rng) => ({ mechanism: rng.pick(['PLAIN', 'SCRAM-SHA-256', 'GSSAPI', '']) }),
  SaslAuthenticate: (rng) => ({ authBytes: Buffer.from(`\u0000user\u0000${'p'.repeat(rng.int(40))}`) }),
  ApiVersions: () => ({ clientSoftwareName: 'sluice-fuzz', clientSoftwareVersion: '1.0' }),
  CreateTopics: (rng) => ({ topics: [{ name: topic(rng), numPartitions: rng.pick([1, 2, -1, 0, 65, 100000]), replicationFactor: rng.pick([1, -1, 0, 3]), assignments: [], configs: rng.chance(0.5) ? [{ name: rng.pick(['cleanup.policy', 'retention.ms', 'max.message.bytes', 'segment.bytes', 'x']), value: rng.pick(['compact', '-1', '0', '1', 'abc', null]) }] : [] }], timeoutMs: 5000, validateOnly: rng.chance(0.3) }),
  DeleteTopics: (rng) => ({ topics: [{ name: rng.pick(['fuzz-t2', 'fuzz-t3', 'no-such-topic']), topicId: ZERO_UUID }], topicNames: [rng.pick(['fuzz-t2', 'fuzz-t3', 'no-such-topic'])], timeoutMs: 5000 }),
  DeleteRecords: (rng) => ({ topics: [{ name: topic(rng), partitions: partitions(rng).map((p) => ({ partitionIndex: p, offset: offset(rng) })) }], timeoutMs: 5000 }),
  InitProducerId: (rng) => ({ transactionalId: rng.chance(0.7) ? null : 'tx', transactionTimeoutMs: 60000, producerId: rng.pick([-1, 0, 5]), producerEpoch: -1 }),
  OffsetForLeaderEpoch: (rng) => ({ replicaId: -1, topics: [{ topic: topic(rng), partitions: partitions(rng).map((p) => ({ partition: p, currentLeaderEpoch: -1, leaderEpoch: rng.pick([0, 1, -1, 0x7fffffff]) })) }] }),
  DescribeConfigs: (rng) => ({ resources: [{ resourceType: rng.pick([2, 4, 8, 0, 99]), resourceName: rng.pick([...FUZZ_TOPICS, '0', '1', '']), configurationKeys: rng.chance(0.5) ? null : ['retention.ms'] }], includeSynonyms: rng.chance(0.5), includeDocumentation: rng.chance(0.5) }),
  AlterConfigs: (rng) => ({ resources: [{ resourceType: rng.pick([2, 4, 99]), resourceName: rng.pick(['fuzz-t0', 'fuzz-t1', 'no-such-topic', '1']), configs: [{ name: rng.pick(['retention.ms', 'cleanup.policy', 'max.message.bytes', 'bogus']), value: rng.pick(['1000', 'compact', '-5', 'x', null]) }] }], validateOnly: rng.chance(0.3) }),
  IncrementalAlterConfigs: (rng) => ({ resources: [{ resourceType: rng.pick([2, 4, 99]), resourceName: rng.pick(['fuzz-t0', 'fuzz-t1', 'no-such-topic', '1']), configs: [{ name: rng.pick(['retention.ms', 'cleanup.policy', 'segment.ms', 'bogus']), configOperation: rng.range(-1, 4), value: rng.pick(['1000', 'delete', '-5', null]) }] }], validateOnly: rng.chance(0.3) }),
  CreatePartitions: (rng) => ({ topics: [{ name: rng.pick(['fuzz-t0', 'fuzz-t1', 'no-such-topic']), count: rng.pick([1, 2, 4, 65, -1]), assignments: null }], timeoutMs: 5000, validateOnly: rng.chance(0.3) }),
  DeleteGroups: (rng) => ({ groupsNames: [group(rng)] }),
  DescribeCluster: () => ({ includeClusterAuthorizedOperations: false, endpointType: 1 }),
};

interface Api {
  name: string;
  key: number;
  minVersion: number;
  maxVersion: number;
  write: (w: Writer, v: number, o: unknown) => void;
}

const codecs = kafka as unknown as Record<string, unknown>;

/** Every API the generated codecs cover that the server serves (`served` maps API key → [min, max] version). */
export function servedApis(served: Map<number, [number, number]>): Api[] {
  return kafka.apiCatalog
    .filter((a) => served.has(a.key) && typeof codecs[`write${a.name}Request`] === 'function')
    .map((a) => {
      const [minVersion, maxVersion] = served.get(a.key) ?? [a.minVersion, a.maxVersion];
      return { name: a.name, key: a.key, minVersion, maxVersion, write: codecs[`write${a.name}Request`] as Api['write'] };
    });
}

/** The golden frames (header and body, no size prefix) captured from real clients. */
export function goldenFrames(): Buffer[] {
  const dir = join(workspaceRoot, 'libs', 'protocol', 'test', 'golden');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => readFileSync(join(dir, f)));
}

export function sizePrefixed(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

/** One valid request frame (no size prefix) for `api` at `version`. */
export function encodeRequest(rng: Rng, api: Api, version: number, body?: Record<string, unknown>, correlationId = rng.int(0x7fffffff)): Buffer {
  const w = new Writer();
  writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: rng.chance(0.9) ? 'sluice-fuzz' : null });
  api.write(w, version, body ?? TEMPLATES[api.name]?.(rng) ?? {});
  return w.toBuffer();
}

/** What a connection sends: byte chunks written one after another, each counted inputs. */
export interface Script {
  kind: 'kafka' | 'http';
  label: string;
  chunks: Buffer[];
  /** Inputs this script carries (mutated frames, or 1 for an HTTP request). */
  inputs: number;
}

/** A hostile length prefix for a frame body: zero, negative, huge, or off by a little. */
function hostilePrefix(rng: Rng, bodyLength: number): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(rng.pick([0, -1, -0x80000000, 0x7fffffff, 100 * 1024 * 1024, bodyLength + rng.range(1, 64), Math.max(0, bodyLength - rng.range(1, 8)), 1, 3]) | 0);
  return size;
}

export class KafkaInputs {
  private readonly golden = goldenFrames();

  constructor(
    private readonly apis: Api[],
    /** Makes a Produce request body carrying mutated record batches (from batch-inputs). */
    private readonly produceBody: (rng: Rng) => Record<string, unknown>,
  ) {}

  /** A seed frame: a golden one, or any served API at any version it serves (with an occasional version outside). */
  private seed(rng: Rng): { frame: Buffer; label: string } {
    if (rng.chance(0.15)) {
      const frame = rng.pick(this.golden);
      return { frame: Buffer.from(frame), label: `golden key ${frame.readInt16BE(0)} v${frame.readInt16BE(2)}` };
    }
    const api = rng.pick(this.apis);
    const version = rng.chance(0.05) ? rng.pick([-1, api.maxVersion + 1, 0x7fff, api.minVersion - 1]) : rng.range(api.minVersion, api.maxVersion);
    const safeVersion = Math.max(0, Math.min(version, 0x7fff));
    const body = api.name === 'Produce' ? this.produceBody(rng) : undefined;
    const w = new Writer();
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: rng.int(0x7fffffff), clientId: rng.chance(0.9) ? 'sluice-fuzz' : null });
    let encoded: Buffer;
    try {
      api.write(w, Math.min(safeVersion, api.maxVersion), body ?? TEMPLATES[api.name]?.(rng) ?? {});
      encoded = w.toBuffer();
    } catch {
      encoded = encodeRequest(rng, api, api.maxVersion);
    }
    return { frame: encoded, label: `${api.name} v${version}` };
  }

  /** One mutated frame, size prefix included (honest most of the time). */
  private mutatedFrame(rng: Rng): { bytes: Buffer; label: string } {
    const { frame, label } = this.seed(rng);
    let mutated: Buffer;
    let how: string;
    // Most frames stay well-formed (hostile values from the templates, or one header field changed) so that they reach
    // the handlers; a connection is closed at the first frame that does not parse.
    switch (rng.int(8)) {
      case 0: // the header: API key, version, correlation id, client id length
        mutated = Buffer.from(frame);
        if (mutated.length >= 10) {
          const field = rng.int(4);
          if (field === 0) mutated.writeInt16BE(rng.chance(0.5) ? rng.pick(this.apis).key : rng.range(-32768, 32767), 0);
          else if (field === 1) mutated.writeInt16BE(rng.range(-2, 20), 2);
          else if (field === 2) mutated.writeInt32BE(rng.next() | 0, 4);
          else mutated.writeInt16BE(rng.pick([-1, 0, 0x7fff, 1000, mutated.length]), 8);
        }
        how = 'header';
        break;
      case 1: // valid, unmutated: keeps the connection going so later frames are read
      case 2:
      case 3:
      case 4:
        mutated = frame;
        how = 'valid';
        break;
      default:
        mutated = mutateBytes(rng, frame, 6);
        how = 'bytes';
    }
    const prefix = rng.chance(0.04) ? hostilePrefix(rng, mutated.length) : null;
    const bytes = prefix ? Buffer.concat([prefix, mutated]) : sizePrefixed(mutated);
    return { bytes, label: `${label} ${how}${prefix ? ` prefix ${prefix.readInt32BE(0)}` : ''}` };
  }

  /** A connection's worth of input: 1..8 frames, pipelined, sometimes split across writes. */
  script(rng: Rng): Script {
    const frames = Array.from({ length: rng.range(1, 8) }, () => this.mutatedFrame(rng));
    const all = Buffer.concat(frames.map((f) => f.bytes));
    const roll = rng.int(10);
    const chunks = roll === 0 ? splitRandomly(rng, all, 8) : roll === 1 ? [all.subarray(0, Math.max(1, rng.int(all.length)))] /* cut short */ : [all];
    return { kind: 'kafka', label: frames.map((f) => f.label).join(' | '), chunks, inputs: frames.length };
  }
}
