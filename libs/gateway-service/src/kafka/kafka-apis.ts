// The Kafka API registry and the request dispatcher. Each API names the versions it serves, its generated codecs and
// its handler; the registry also drives the ApiVersions answer, so what is advertised is exactly what is served.
import { ApiKey, kafka, readRequestHeader, Reader, responseHeaderVersion, writeResponseHeader, Writer, KafkaErrorCode, SluiceError } from '@sluice/protocol';
import { CloseConnection, type ConnectionInfo, type Dispatch } from './kafka-connection.js';
import type { KafkaContext } from './kafka-context.js';

export interface RequestInfo {
  version: number;
  clientId: string | null;
  connection: ConnectionInfo;
}

export interface KafkaApi<Req = unknown, Res = unknown> {
  key: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  read: (r: Reader, version: number) => Req;
  write: (w: Writer, version: number, response: Res) => void;
  /** The response, or null to send none (Produce with acks=0). */
  handle: (request: Req, info: RequestInfo, ctx: KafkaContext) => Promise<Res | null>;
}

/** Declares an API with its codecs' types tied to its handler's. */
export function defineApi<Req, Res>(api: KafkaApi<Req, Res>): KafkaApi {
  return api as unknown as KafkaApi;
}

export type ApiRegistry = ReadonlyMap<number, KafkaApi>;

export function apiRegistry(apis: readonly KafkaApi[]): ApiRegistry {
  return new Map(apis.map((a) => [a.key, a]));
}

/** ApiVersions for a version this gateway does not serve: the v0 body with UNSUPPORTED_VERSION and the ranges (KIP-511). */
function unsupportedApiVersions(registry: ApiRegistry): kafka.ApiVersionsResponse {
  return { errorCode: KafkaErrorCode.UNSUPPORTED_VERSION, apiKeys: advertisedVersions(registry), throttleTimeMs: 0 };
}

export function advertisedVersions(registry: ApiRegistry): kafka.ApiVersionsResponseApiVersion[] {
  return [...registry.values()].sort((a, b) => a.key - b.key).map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion }));
}

function frame(correlationId: number, headerVersion: 0 | 1, body: (w: Writer) => void): Uint8Array[] {
  const w = new Writer(256);
  writeResponseHeader(w, correlationId, headerVersion);
  body(w);
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(w.length);
  return [size, ...w.toChunks()];
}

/** What a client may send before it has authenticated, when SASL is on. */
const beforeAuthentication: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export function createDispatcher(registry: ApiRegistry, ctx: KafkaContext): Dispatch {
  // Each API's latency histogram, looked up once.
  const latency = new Map([...registry.values()].map((api) => [api.key, ctx.metrics.kafkaRequest(api.name)]));
  return async (bytes, connection) => {
    const r = new Reader(bytes);
    let header;
    try {
      header = readRequestHeader(r);
    } catch {
      throw new CloseConnection('malformed request header');
    }
    const api = registry.get(header.apiKey);
    const { apiKey, apiVersion, correlationId } = header;
    if (!api) throw new CloseConnection(`unknown API key ${apiKey} (version ${apiVersion}, client ${header.clientId ?? '-'})`);
    if (ctx.sasl.enabled && connection.auth.principal === null && !beforeAuthentication.has(apiKey)) {
      throw new CloseConnection(`${api.name} request before SASL authentication (client ${header.clientId ?? '-'})`);
    }
    // KIP-368: a session past its lifetime may only re-authenticate; anything else closes the connection, as Kafka does.
    const { expiresAt } = connection.auth;
    if (expiresAt !== null && Date.now() > expiresAt && !beforeAuthentication.has(apiKey)) {
      throw new CloseConnection(`${api.name} request after the SASL session expired without re-authentication (client ${header.clientId ?? '-'})`);
    }
    if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return frame(correlationId, 0, (w) => kafka.writeApiVersionsResponse(w, 0, unsupportedApiVersions(registry)));
      throw new CloseConnection(`${api.name} version ${apiVersion} is not supported (${api.minVersion}-${api.maxVersion}; client ${header.clientId ?? '-'})`);
    }
    let request: unknown;
    try {
      request = api.read(r, apiVersion);
    } catch (err) {
      throw new CloseConnection(`malformed ${api.name} v${apiVersion} request: ${(err as Error).message}`);
    }
    const started = performance.now();
    try {
      const response = await api.handle(request, { version: apiVersion, clientId: header.clientId, connection }, ctx);
      if (response === null) return null;
      return frame(correlationId, responseHeaderVersion(apiKey, apiVersion), (w) => api.write(w, apiVersion, response));
    } finally {
      latency.get(apiKey)?.observe((performance.now() - started) / 1000);
    }
  };
}

/** The Kafka error code for a failure inside a handler (a SluiceError carries one; anything else is UNKNOWN_SERVER_ERROR). */
export function errorCodeOf(err: unknown): number {
  return err instanceof SluiceError ? err.kafkaCode : KafkaErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
