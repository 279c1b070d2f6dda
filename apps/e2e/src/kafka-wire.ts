// A minimal Kafka protocol client for tests: raw frames over a socket, built on libs/protocol's codecs, so tests can
// send what real clients never would (bad frames, unknown APIs, pipelines of many requests).
import { connect, type Socket } from 'node:net';
import { ApiKey, kafka, readResponseHeader, Reader, responseHeaderVersion, writeRequestHeader, Writer } from '@sluice/protocol';

export class WireClient {
  private buffered = Buffer.alloc(0);
  private readonly waiting: Array<(frame: Buffer) => void> = [];
  private correlation = 0;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting.shift()?.(frame);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static connect(bootstrap: string): Promise<WireClient> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Encodes a request frame (size prefix included). */
  frame(apiKey: number, apiVersion: number, body: (w: Writer) => void, correlationId = ++this.correlation): Buffer {
    const w = new Writer();
    writeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId: 'wire-test' });
    body(w);
    const bytes = w.toBuffer();
    const size = Buffer.alloc(4);
    size.writeInt32BE(bytes.length);
    return Buffer.concat([size, bytes]);
  }

  /** The next response frame (without its size prefix). */
  next(): Promise<Buffer> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends one request and decodes its response. */
  async request<T>(apiKey: number, apiVersion: number, write: (w: Writer) => void, read: (r: Reader, v: number) => T): Promise<{ correlationId: number; body: T }> {
    const response = this.next();
    this.socket.write(this.frame(apiKey, apiVersion, write));
    const r = new Reader(await response);
    const correlationId = readResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
    return { correlationId, body: read(r, apiVersion) };
  }

  /** OffsetCommit v8 outside any generation (as admin tools commit) for partitions of one topic: [partition, error] each. */
  async commitOffsets(groupId: string, topic: string, partitions: Array<{ partition: number; offset: number; metadata?: string | null }>): Promise<Array<[number, number]>> {
    const request: kafka.OffsetCommitRequest = {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: -1, committedMetadata: p.metadata ?? null })) }],
    };
    const { body } = await this.request(ApiKey.OffsetCommit, 8, (w) => kafka.writeOffsetCommitRequest(w, 8, request), kafka.readOffsetCommitResponse);
    return body.topics.flatMap((t) => t.partitions.map((p): [number, number] => [p.partitionIndex, p.errorCode]));
  }

  /** OffsetFetch v8 of partitions of one topic: the group's error, and [partition, offset, metadata, error] each. */
  async fetchOffsets(groupId: string, topic: string, partitions: number[]): Promise<{ errorCode: number; partitions: Array<[number, number, string | null, number]> }> {
    const request: kafka.OffsetFetchRequest = { groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }], requireStable: false };
    const { body } = await this.request(ApiKey.OffsetFetch, 8, (w) => kafka.writeOffsetFetchRequest(w, 8, request), kafka.readOffsetFetchResponse);
    const group = body.groups?.[0];
    return {
      errorCode: group?.errorCode ?? -1,
      partitions: (group?.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p): [number, number, string | null, number] => [p.partitionIndex ?? -1, p.committedOffset ?? -1, p.metadata ?? null, p.errorCode ?? -1])),
    };
  }

  /** Resolves when the server closes the connection (or after `ms`, with false). */
  whenClosed(ms = 5000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
