import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/runtime';
import { SaslAuthenticator } from './sasl.js';

/** A SCRAM client (RFC 5802), as Kafka clients implement it. */
function scramClient(hash: 'sha256' | 'sha512', user: string, password: string) {
  const clientNonce = 'fyko+d2lbbFgONRv9qkxdawL';
  const clientFirstBare = `n=${user},r=${clientNonce}`;
  return {
    first: Buffer.from(`n,,${clientFirstBare}`),
    final(serverFirst: string): { message: Buffer; expectedServerSignature: string } {
      const attrs = new Map(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
      const salted = pbkdf2Sync(password, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), hash === 'sha256' ? 32 : 64, hash);
      const clientKey = createHmac(hash, salted).update('Client Key').digest();
      const storedKey = createHash(hash).update(clientKey).digest();
      const finalWithoutProof = `c=biws,r=${attrs.get('r')}`;
      const authMessage = `${clientFirstBare},${serverFirst},${finalWithoutProof}`;
      const signature = createHmac(hash, storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
      const serverKey = createHmac(hash, salted).update('Server Key').digest();
      return {
        message: Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`),
        expectedServerSignature: `v=${createHmac(hash, serverKey).update(authMessage).digest().toString('base64')}`,
      };
    },
  };
}

describe('SASL', () => {
  const sasl = new SaslAuthenticator(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], ['alice:s3cret', 'bob:p:w']);

  it('authenticates PLAIN and refuses a wrong password', () => {
    expect(sasl.start('PLAIN').step(Buffer.from('\u0000alice\u0000s3cret')).principal).toBe('alice');
    expect(sasl.start('PLAIN').step(Buffer.from('\u0000bob\u0000p:w')).principal).toBe('bob');
    expect(sasl.start('PLAIN').step(Buffer.from('\u0000alice\u0000nope')).error).toMatch(/Authentication failed/);
    expect(sasl.start('PLAIN').step(Buffer.from('garbage')).error).toMatch(/Authentication failed/);
  });

  for (const [mechanism, hash] of [
    ['SCRAM-SHA-256', 'sha256'],
    ['SCRAM-SHA-512', 'sha512'],
  ] as const) {
    it(`authenticates ${mechanism}, proves itself to the client, and refuses a wrong password`, () => {
      const session = sasl.start(mechanism);
      const client = scramClient(hash, 'alice', 's3cret');
      const serverFirst = session.step(client.first).response.toString();
      expect(serverFirst).toMatch(/^r=fyko\+d2lbbFgONRv9qkxdawL[^,]+,s=[^,]+,i=4096$/);
      const final = client.final(serverFirst);
      const done = session.step(final.message);
      expect(done.principal).toBe('alice');
      expect(done.response.toString()).toBe(final.expectedServerSignature);

      const wrong = sasl.start(mechanism);
      const impostor = scramClient(hash, 'alice', 'guess');
      expect(wrong.step(impostor.final(wrong.step(impostor.first).response.toString()).message).error).toMatch(/invalid username or password/);
      expect(sasl.start(mechanism).step(Buffer.from('n,,n=nobody,r=abc')).error).toMatch(/invalid username or password/);
    });
  }

  it('names the bad variable when configured wrongly', () => {
    expect(() => new SaslAuthenticator(['GSSAPI'], ['a:b'])).toThrow(ConfigError);
    expect(() => new SaslAuthenticator(['PLAIN'], [])).toThrow(/SLUICE_KAFKA_SASL_USERS|no user/);
    expect(() => new SaslAuthenticator(['PLAIN'], ['nopassword'])).toThrow(/user:password/);
    expect(new SaslAuthenticator([], []).enabled).toBe(false);
  });
});
