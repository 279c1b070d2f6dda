// Producer ids for idempotent producers, handed out from blocks the controller allocates (Kafka's AllocateProducerIds):
// the controller persists where the next block starts, so no two gateways, and no gateway after a restart or a
// controller takeover, ever hand out the same id.

export interface ProducerIdBlock {
  firstProducerId: number;
  count: number;
}

export class ProducerIdPool {
  private next = 0;
  private end = 0;
  private filling: Promise<void> | undefined;

  /** `allocate` asks the controller for the next block. */
  constructor(private readonly allocate: () => Promise<ProducerIdBlock>) {}

  /** The next unused id; waits for a new block when this one is used up (one controller request per block). */
  async take(): Promise<number> {
    while (this.next >= this.end) await this.refill();
    return this.next++;
  }

  private refill(): Promise<void> {
    this.filling ??= this.allocate()
      .then((block) => {
        this.next = block.firstProducerId;
        this.end = block.firstProducerId + block.count;
      })
      .finally(() => {
        this.filling = undefined;
      });
    return this.filling;
  }
}
