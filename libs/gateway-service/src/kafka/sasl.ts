// SASL for the Kafka listener (off unless SLUICE_KAFKA_SASL_MECHANISMS is set): PLAIN (RFC 4616) and SCRAM-SHA-256 /
// SCRAM-SHA-512 (RFC 5802, 7677), over SaslHandshake v1 + SaslAuthenticate as Kafka clients use them (KIP-152). Users
// come from SLUICE_KAFKA_SASL_USERS; for SCRAM the gateway keeps only salted keys, derived at start.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@sluice/runtime';

export const supportedSaslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
type Mechanism = (typeof supportedSaslMechanisms)[number];

const SCRAM_ITERATIONS = 4096;

interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface SaslStep {
  /** Bytes for the client (the server's challenge or final message). */
  response: Buffer;
  /** Set once the client is authenticated. */
  principal?: string;
  /** Set when authentication failed. */
  error?: string;
}

export interface SaslSession {
  step(token: Buffer): SaslStep;
}

function hashOf(mechanism: Mechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256';
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SCRAM attribute list "k=v,k=v" (values may contain '=': only the first one splits). */
function attributes(text: string): Map<string, string> {
  return new Map(text.split(',').map((part) => [part.slice(0, 1), part.slice(2)]));
}

/** SCRAM user names escape ',' and '=' as =2C and =3D. */
const unescapeName = (name: string): string => name.replace(/=2C/g, ',').replace(/=3D/g, '=');

export class SaslAuthenticator {
  readonly mechanisms: Mechanism[];
  private readonly passwords = new Map<string, string>();
  private readonly scram = new Map<string, ScramCredential>();

  constructor(mechanisms: readonly string[], users: readonly string[]) {
    for (const m of mechanisms) {
      if (!(supportedSaslMechanisms as readonly string[]).includes(m)) {
        throw new ConfigError('SLUICE_KAFKA_SASL_MECHANISMS', `unknown mechanism "${m}" (supported: ${supportedSaslMechanisms.join(', ')})`);
      }
    }
    this.mechanisms = [...new Set(mechanisms)] as Mechanism[];
    for (const entry of users) {
      const at = entry.indexOf(':');
      if (at <= 0 || at === entry.length - 1) throw new ConfigError('SLUICE_KAFKA_SASL_USERS', `"${entry.replace(/:.*/, ':***')}" is not user:password`);
      this.passwords.set(entry.slice(0, at), entry.slice(at + 1));
    }
    if (this.mechanisms.length > 0 && this.passwords.size === 0) throw new ConfigError('SLUICE_KAFKA_SASL_USERS', 'SASL is on but no user is configured');
    for (const mechanism of this.mechanisms.filter((m) => m !== 'PLAIN')) {
      for (const [user, password] of this.passwords) {
        const hash = hashOf(mechanism);
        const salt = randomBytes(16);
        const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, hash === 'sha256' ? 32 : 64, hash);
        const clientKey = createHmac(hash, salted).update('Client Key').digest();
        this.scram.set(`${mechanism}\u0000${user}`, {
          salt,
          storedKey: createHash(hash).update(clientKey).digest(),
          serverKey: createHmac(hash, salted).update('Server Key').digest(),
        });
      }
    }
  }

  get enabled(): boolean {
    return this.mechanisms.length > 0;
  }

  supports(mechanism: string): boolean {
    return (this.mechanisms as string[]).includes(mechanism);
  }

  /** A new exchange for `mechanism` (which the caller checked with `supports`). */
  start(mechanism: string): SaslSession {
    if (mechanism === 'PLAIN') return { step: (token) => this.plain(token) };
    return this.scramSession(mechanism as Mechanism);
  }

  private plain(token: Buffer): SaslStep {
    const [, user, password] = token.toString('utf8').split('\u0000');
    const expected = user === undefined ? undefined : this.passwords.get(user);
    if (expected === undefined || password === undefined || !sameBytes(Buffer.from(password), Buffer.from(expected))) {
      return { response: Buffer.alloc(0), error: 'Authentication failed: invalid username or password' };
    }
    return { response: Buffer.alloc(0), principal: user };
  }

  private scramSession(mechanism: Mechanism): SaslSession {
    const hash = hashOf(mechanism);
    let state: { user: string; credential: ScramCredential; clientFirstBare: string; serverFirst: string; nonce: string } | undefined;
    const fail = (why: string): SaslStep => ({ response: Buffer.alloc(0), error: `Authentication failed: ${why}` });
    return {
      step: (token) => {
        const text = token.toString('utf8');
        if (!state) {
          // client-first-message: gs2-header "n,," then "n=user,r=nonce"
          const bare = text.replace(/^[ny],[^,]*,/, '');
          if (bare === text) return fail('malformed SCRAM client-first message');
          const attrs = attributes(bare);
          const user = unescapeName(attrs.get('n') ?? '');
          const clientNonce = attrs.get('r') ?? '';
          const credential = this.scram.get(`${mechanism}\u0000${user}`);
          if (!credential || clientNonce === '') return fail('invalid username or password');
          const nonce = clientNonce + randomBytes(18).toString('base64');
          const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
          state = { user, credential, clientFirstBare: bare, serverFirst, nonce };
          return { response: Buffer.from(serverFirst) };
        }
        const attrs = attributes(text);
        const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
        // As Kafka checks it: the nonce must end with the server's (librdkafka sends its own nonce again in front).
        if (!(attrs.get('r') ?? '').endsWith(state.nonce)) return fail('SCRAM nonce mismatch');
        const finalWithoutProof = text.slice(0, text.lastIndexOf(',p='));
        const authMessage = `${state.clientFirstBare},${state.serverFirst},${finalWithoutProof}`;
        const clientSignature = createHmac(hash, state.credential.storedKey).update(authMessage).digest();
        if (proof.length !== clientSignature.length) return fail('invalid username or password');
        const clientKey = xor(proof, clientSignature);
        if (!sameBytes(createHash(hash).update(clientKey).digest(), state.credential.storedKey)) return fail('invalid username or password');
        const serverSignature = createHmac(hash, state.credential.serverKey).update(authMessage).digest();
        return { response: Buffer.from(`v=${serverSignature.toString('base64')}`), principal: state.user };
      },
    };
  }
}
