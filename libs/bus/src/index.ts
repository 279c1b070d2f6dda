export type { Transport, InboundMessage, SubscribeOptions, TransportSubscription } from './transport.js';
export { InProcessTransport } from './in-process-transport.js';
export { NatsTransport, type NatsTransportOptions } from './nats-transport.js';
export { Bus, LeaveUnanswered, reply, type Reply, type Actor, type AskOptions, type BusOptions, type Handler, type ServeOptions, type Subscription } from './bus.js';
export { encodeEnvelope, decodeEnvelope, encodeError, type Body, type Envelope } from './envelope.js';
export { BusErrorCode, isBusError, noResponders, requestTimeout, busClosed } from './bus-errors.js';
export { subjectMatches } from './subject-matcher.js';
export { defineVerb, addressOf, address, eventStream, type Verb, type Address, type EventStream } from './verb.js';
