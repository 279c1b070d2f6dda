import { describe, expect, it } from 'vitest';
import { topicNameProblem, validateTopicName } from './topic-name.js';

describe('topic names', () => {
  it.each(['orders', 'a.b_c-D9', 'x'.repeat(249)])('accepts %j', (name) => {
    expect(topicNameProblem(name)).toBeUndefined();
  });
  it.each(['', '.', '..', 'x'.repeat(250), 'has space', 'ünï', 'a/b', 'a*b'])('refuses %j', (name) => {
    expect(topicNameProblem(name)).toBeDefined();
    expect(validateTopicName(name)?.code).toBe('INVALID_TOPIC_EXCEPTION');
  });
});
