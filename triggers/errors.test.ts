import { describe, expect, test } from 'vitest';
import { redact } from './errors.ts';

describe('redact', () => {
  test.each([
    {
      what: "a URL's user and password",
      text: 'connect ECONNREFUSED amqp://roost:s3cret@10.0.0.1:5672/vhost',
      want: 'connect ECONNREFUSED amqp://***@10.0.0.1:5672/vhost',
    },
    {
      what: 'every URL in the text',
      text: 'nats://a:b@h1:4222,nats://c:d@h2:4222',
      want: 'nats://***@h1:4222,nats://***@h2:4222',
    },
    { what: 'a URL without credentials stays', text: 'amqp://h:5672/', want: 'amqp://h:5672/' },
    {
      what: 'a secret value wherever it appears',
      text: 'token tok-123456 refused',
      secrets: ['tok-123456'],
      want: 'token *** refused',
    },
    { what: 'an empty secret removes nothing', text: 'abc', secrets: [''], want: 'abc' },
  ])('$what', ({ text, secrets, want }) => {
    expect(redact(text, secrets)).toBe(want);
  });
});
