// The byte-level transport the bus runs on: NATS in a deployment, in-process in the embedded mode and unit tests.

export interface InboundMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** True when the sender waits for a reply. */
  readonly expectsReply: boolean;
  /** Sends the reply; false when there is nobody to reply to. */
  respond(data: Uint8Array): boolean;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
}

export interface TransportSubscription {
  unsubscribe(): void;
}

export interface Transport {
  readonly kind: 'nats' | 'in-process';
  /**
   * Sends a request and resolves with the first reply. Rejects with a SluiceError coded BUS_NO_RESPONDERS
   * (nobody subscribes to the subject), BUS_TIMEOUT or BUS_CLOSED.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: (message: InboundMessage) => void, options?: SubscribeOptions): TransportSubscription;
  /** Resolves once everything published so far has reached the server (NATS) or been delivered (in-process). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
