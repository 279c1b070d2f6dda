// SaslHandshake (v1: the mechanism) and SaslAuthenticate (the mechanism's tokens), per connection.
import { ApiKey, kafka, KafkaErrorCode } from '@sluice/protocol';
import { defineApi } from '../kafka-apis.js';

const EMPTY = Buffer.alloc(0);

export const saslHandshakeApi = defineApi<kafka.SaslHandshakeRequest, kafka.SaslHandshakeResponse>({
  key: ApiKey.SaslHandshake,
  name: 'SaslHandshake',
  // Advertised from 0 because librdkafka enables SASL only when v0 is; clients then use v1 with SaslAuthenticate
  // (KIP-152). A v0 client that follows with raw SASL tokens outside Kafka frames gets its connection closed.
  minVersion: 0,
  maxVersion: 1,
  read: kafka.readSaslHandshakeRequest,
  write: kafka.writeSaslHandshakeResponse,
  handle: async (req, info, ctx) => {
    const mechanisms = [...ctx.sasl.mechanisms];
    if (!ctx.sasl.supports(req.mechanism)) return { errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    const auth = info.connection.auth;
    // Re-authentication (KIP-368) on an authenticated connection: only when sessions expire, with the same mechanism.
    if (auth.principal !== null && (ctx.config.kafkaConnectionsMaxReauthMs === 0 || req.mechanism !== auth.mechanism || auth.session !== null)) {
      return { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    info.connection.auth.mechanism = req.mechanism;
    info.connection.auth.session = ctx.sasl.start(req.mechanism);
    return { errorCode: KafkaErrorCode.NONE, mechanisms };
  },
});

export const saslAuthenticateApi = defineApi<kafka.SaslAuthenticateRequest, kafka.SaslAuthenticateResponse>({
  key: ApiKey.SaslAuthenticate,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  read: kafka.readSaslAuthenticateRequest,
  write: kafka.writeSaslAuthenticateResponse,
  handle: async (req, info, ctx) => {
    const auth = info.connection.auth;
    if (!auth.session) {
      return { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate without a SaslHandshake', authBytes: EMPTY, sessionLifetimeMs: 0 };
    }
    const step = auth.session.step(req.authBytes);
    // A failed re-authentication, or one as another user, ends the session: the connection's next request closes it.
    const failed = (message: string) => {
      auth.session = null;
      auth.principal = null;
      auth.expiresAt = null;
      ctx.logger.warn({ remote: info.connection.remote, mechanism: auth.mechanism }, 'SASL authentication failed');
      return { errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0 };
    };
    if (step.error) return failed(step.error);
    if (step.principal === undefined) return { errorCode: KafkaErrorCode.NONE, errorMessage: null, authBytes: step.response, sessionLifetimeMs: 0 };
    if (auth.principal !== null && auth.principal !== step.principal) return failed(`re-authenticated as ${step.principal}, not ${auth.principal}`);
    auth.principal = step.principal;
    auth.session = null;
    // connections.max.reauth.ms (KIP-368): the client must re-authenticate within the session lifetime it is told.
    const lifetime = ctx.config.kafkaConnectionsMaxReauthMs;
    auth.expiresAt = lifetime > 0 ? Date.now() + lifetime : null;
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null, authBytes: step.response, sessionLifetimeMs: lifetime };
  },
});
