// The check after every round, as a user sees it: KafkaJS produces a few records to the canary topic and reads back
// every record produced so far, in every round, byte for byte; the fuzz topics' stored records still read over HTTP.
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

export class Canary {
  private readonly kafka: Kafka;
  private producer?: Producer;
  private consumer?: Consumer;
  /** partition:offset → value, for every record acknowledged so far. */
  private readonly expected = new Map<string, string>();
  private readonly seen = new Map<string, string>();

  constructor(
    bootstrap: string,
    readonly topic: string,
    private readonly partitions: number,
  ) {
    this.kafka = new Kafka({ clientId: 'sluice-fuzz-canary', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  }

  get records(): number {
    return this.expected.size;
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({ groupId: `${this.topic}-reader`, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        this.seen.set(`${partition}:${message.offset}`, message.value?.toString() ?? '<null>');
      },
    });
  }

  /** Produces `count` records (acks=all) and then waits until every record produced so far reads back intact. */
  async check(round: number, count = 10, timeoutMs = 30_000): Promise<void> {
    if (!this.producer || !this.consumer) throw new Error('canary not started');
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, partition: i % this.partitions, value: `round ${round} record ${i} ${'x'.repeat(i * 7)}` }));
    const results = await withTimeout(this.producer.send({ topic: this.topic, acks: -1, messages }), timeoutMs, 'canary produce');
    // KafkaJS answers one result per partition: baseOffset is that of the first record sent there, the others follow in order.
    const byPartition = new Map<number, string[]>();
    for (const m of messages) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.value]);
    for (const r of results) {
      const values = byPartition.get(r.partition) ?? [];
      values.forEach((v, i) => this.expected.set(`${r.partition}:${BigInt(r.baseOffset ?? '0') + BigInt(i)}`, v));
    }
    this.seen.clear();
    for (let p = 0; p < this.partitions; p++) this.consumer.seek({ topic: this.topic, partition: p, offset: '0' });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = [...this.expected].filter(([k, v]) => this.seen.get(k) !== v);
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        const [k, v] = missing[0];
        throw new Error(`canary: ${missing.length} of ${this.expected.size} acknowledged records not read back intact (first: ${k} expected "${v.slice(0, 40)}", read ${JSON.stringify(this.seen.get(k)?.slice(0, 40))})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang?)`)), ms);
    }),
  ]);
}
