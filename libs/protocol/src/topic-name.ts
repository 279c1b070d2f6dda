// Kafka's topic-name rules (org.apache.kafka.common.internals.Topic).
import { kafkaError, type SluiceError } from './errors.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Why `name` is not a legal topic name, or undefined when it is. */
export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!LEGAL.test(name)) return `topic name "${name}" is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  return undefined;
}

export function validateTopicName(name: string): SluiceError | undefined {
  const problem = topicNameProblem(name);
  return problem === undefined ? undefined : kafkaError('INVALID_TOPIC_EXCEPTION', problem);
}

/** Kafka warns that '.' and '_' collide in metric names; a topic that differs from another only by them is refused. */
export function unifyCollisionChars(name: string): string {
  return name.replace(/\./g, '_');
}
