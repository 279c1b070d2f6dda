// Kafka group requests to the group coordinator that owns a group's shard, shared by the Kafka listener (which
// forwards its clients' requests) and the HTTP API (which builds its own): the request travels as the Kafka protocol
// encodes it, and the answer comes back the same way (see contracts/groups.ts).
import type { Bus } from '@sluice/bus';
import { KafkaErrorCode, Reader, Writer } from '@sluice/protocol';
import { GROUP_SHARDS, GroupVerbs, type GroupApiRequest, type Subjects } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';

export interface GroupCall<Req, Res> {
  apiKey: number;
  version: number;
  write: (w: Writer, v: number, req: Req) => void;
  read: (r: Reader, v: number) => Res;
  /** The response that reports `errorCode` for the whole request (no coordinator, or a refusal). */
  failed: (errorCode: number) => Res;
  timeoutMs?: number;
  clientId?: string;
  clientHost?: string;
}

export class GroupClient {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  async call<Req, Res>(shard: number, req: Req, c: GroupCall<Req, Res>): Promise<Res> {
    const w = new Writer(256);
    c.write(w, c.version, req);
    const meta: GroupApiRequest = { apiKey: c.apiKey, apiVersion: c.version, clientId: c.clientId ?? 'sluice-gateway', clientHost: c.clientHost ?? '' };
    try {
      const reply = await this.bus.ask(this.subjects.at(GroupVerbs.kafka, shard), meta, { timeoutMs: c.timeoutMs ?? this.timeoutMs, body: w.toBuffer() });
      if (reply.meta.errorCode !== KafkaErrorCode.NONE || !reply.body) return c.failed(reply.meta.errorCode || KafkaErrorCode.UNKNOWN_SERVER_ERROR);
      return c.read(new Reader(Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength)), c.version);
    } catch (err) {
      this.logger.debug({ err, shard, apiKey: c.apiKey }, 'group coordinator unavailable');
      return c.failed(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  /** The same request to every shard (ListGroups), answers in shard order. */
  everyShard<Req, Res>(req: Req, c: GroupCall<Req, Res>): Promise<Res[]> {
    return Promise.all(Array.from({ length: GROUP_SHARDS }, (_, shard) => this.call(shard, req, c)));
  }
}
