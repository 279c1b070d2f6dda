import { sluiceVitestConfig } from '../../vitest.shared.js';

/** Kafka's retriable group-coordinator errors (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR). */
const COORDINATOR_MOVING = new Set([14, 15, 16]);

// End-to-end tests start many processes: one file at a time, generous timeouts.
export default sluiceVitestConfig({
  testTimeout: 120_000,
  serial: true,
  // KafkaJS's consumer runner starts a rejoin without awaiting it (tulios/kafkajs#1390), so a retriable coordinator
  // error while a group's coordinator moves escapes as an unhandled rejection although KafkaJS then recovers. Only
  // those are ignored; any other unhandled error still fails the run.
  ignoreUnhandled: (error) => error.name === 'KafkaJSProtocolError' && error.retriable === true && COORDINATOR_MOVING.has(Number(error.code)),
});
