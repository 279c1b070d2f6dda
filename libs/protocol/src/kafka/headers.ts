// Kafka request and response headers. A request header is v1 (api key, version, correlation id, nullable client id)
// or, for flexible API versions, v2 (the same plus tagged fields; the client id stays a classic string). A response
// header is v0 (correlation id) or v1 (plus tagged fields) for flexible versions, except that ApiVersions responses
// always use v0 so that a client can read them whatever version it asked for (KIP-511).
import type { Reader } from '../binary/reader.js';
import type { Writer } from '../binary/writer.js';
import { ApiKey, apiCatalog } from '../generated/messages/index.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

const flexibleFrom = new Map<number, number>(apiCatalog.map((a) => [a.key, a.flexibleFrom]));

/** Whether `version` of the API uses flexible (compact, tagged) encodings; false for an unknown API. */
export function isFlexibleVersion(apiKey: number, version: number): boolean {
  return version >= (flexibleFrom.get(apiKey) ?? Infinity);
}

export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  if (isFlexibleVersion(apiKey, apiVersion)) r.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function writeRequestHeader(w: Writer, header: RequestHeader): void {
  w.int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId).nullableString(header.clientId);
  if (isFlexibleVersion(header.apiKey, header.apiVersion)) w.uvarint(0);
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  return apiKey !== ApiKey.ApiVersions && isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

export function writeResponseHeader(w: Writer, correlationId: number, headerVersion: 0 | 1): void {
  w.int32(correlationId);
  if (headerVersion === 1) w.uvarint(0);
}

export function readResponseHeader(r: Reader, headerVersion: 0 | 1): number {
  const correlationId = r.int32();
  if (headerVersion === 1) r.skipTaggedFields();
  return correlationId;
}
