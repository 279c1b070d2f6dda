// Hostile HTTP requests for every route the gateway serves (read from its own /openapi.json, plus the hidden ones):
// bad JSON, deep nesting, huge bodies and URLs, wrong content types, odd methods, broken chunked bodies, invalid
// UTF-8 in paths, headers and bodies — written as raw bytes, because HTTP clients refuse to send most of it.
import type { Rng } from './prng.js';
import { mutateBytes, splitRandomly } from './mutate.js';
import { FUZZ_GROUPS, FUZZ_TOPICS, type Script } from './kafka-inputs.js';

export interface Route {
  method: string;
  /** OpenAPI path template, e.g. /topics/{topic}/partitions/{partition}/records. */
  path: string;
}

/** The routes of a running gateway, from its OpenAPI document. */
export async function discoverRoutes(httpUrl: string): Promise<Route[]> {
  const doc = (await (await fetch(`${httpUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const routes: Route[] = [{ method: 'GET', path: '/' }, { method: 'GET', path: '/openapi.json' }];
  for (const [path, methods] of Object.entries(doc.paths)) for (const method of Object.keys(methods)) routes.push({ method: method.toUpperCase(), path });
  return routes;
}

const ODD_METHODS = ['CONNECT', 'TRACE', 'OPTIONS', 'HEAD', 'PATCH', 'PROPFIND', 'FOO', 'G\u00e9T', 'get', 'M-SEARCH', 'PURGE', ''];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/vnd.kafka.json.v2+json', 'application/vnd.kafka.binary.v2+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', ';;;', 'application/octet-stream'];

function paramValue(rng: Rng, name: string): string {
  switch (rng.int(10)) {
    case 0:
      return 'x'.repeat(rng.pick([101, 249, 250, 1025, 20_000]));
    case 1:
      return rng.pick(['%C3%28', '%FF%FE', '%ED%A0%80', '%00', '..%2F..', '%', '%zz', '😀', '-1', '1e400', '0x10', '99999999999999999999', ' ']);
    case 2:
      return encodeURIComponent(rng.bytes(rng.range(1, 12)).toString('latin1'));
    default:
      if (/partition/.test(name)) return String(rng.pick([0, 1, 2, -1, 64, 2 ** 31, 2 ** 53]));
      if (/group/.test(name)) return rng.pick(FUZZ_GROUPS);
      if (/name|instance/.test(name)) return rng.pick(['i0', 'i1', 'nope']);
      return rng.pick(FUZZ_TOPICS);
  }
}

function query(rng: Rng): string {
  if (rng.chance(0.5)) return '';
  const keys = ['offset', 'partitions', 'max_bytes', 'timeout', 'format', 'acks', 'before', 'limit', 'max_records', 'from', 'x'];
  const values = ['0', '-1', '1e400', 'NaN', '99999999999999999999', 'binary', 'json', 'all', '', '%FF', '0,1,2', 'a'.repeat(5000), 'latest', 'earliest'];
  return '?' + Array.from({ length: rng.range(1, 4) }, () => `${rng.pick(keys)}=${rng.pick(values)}`).join('&');
}

/** A JSON body in roughly the shape the routes expect, so that mutations reach the handlers and not only the parser. */
function jsonBody(rng: Rng): unknown {
  const value = (): unknown => rng.pick([null, true, 0, -1, 1e308, 2 ** 63, 'x', '', [], {}, 'a'.repeat(1000), '\ud800', { value: 'v' }]);
  switch (rng.int(8)) {
    case 0:
      return { records: Array.from({ length: rng.range(0, 20) }, () => ({ key: rng.chance(0.5) ? 'k' : value(), value: value(), partition: rng.pick([0, 1, -1, 9, 'x']), headers: rng.chance(0.2) ? [{ key: 'h', value: value() }] : undefined })) };
    case 1:
      return { name: rng.pick(FUZZ_TOPICS), partitions: rng.pick([1, 2, 0, -1, 65, 1e9, '2']), replication_factor: rng.pick([1, 0, 3]), configs: rng.chance(0.5) ? { 'cleanup.policy': rng.pick(['compact', 'delete', 'x', 1]) } : undefined };
    case 2:
      return { partitions: rng.pick([1, 4, 65, -1, null, [{ topic: 'fuzz-a', partition: 0 }]]) };
    case 3:
      return { configs: { 'retention.ms': rng.pick(['1000', '-1', null, 'x']), bogus: '1' } };
    case 4:
      return { name: rng.pick(['i0', 'i1']), format: rng.pick(['json', 'binary', 'x']), 'auto.offset.reset': rng.pick(['earliest', 'latest', 'x']) };
    case 5:
      return { topics: rng.pick([['fuzz-a'], [], ['x'.repeat(300)], 'fuzz-a']), topic_pattern: rng.pick([undefined, 'fuzz-.*', '(', '(a+)+$']) };
    case 6:
      return { offsets: [{ topic: rng.pick(FUZZ_TOPICS), partition: rng.pick([0, -1, 1]), offset: rng.pick([0, -1, 2 ** 62, 1e300]) }], to: rng.pick(['earliest', 'latest', 'x']), timestamp: rng.pick([0, -1, 8.64e15]) };
    default:
      return value();
  }
}

function deepNesting(rng: Rng): string {
  const depth = rng.pick([1000, 10_000, 50_000, 200_000]);
  return rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function body(rng: Rng): Buffer {
  switch (rng.int(10)) {
    case 0:
      return Buffer.from(deepNesting(rng));
    case 1:
      // Over the 4 MiB body limit now and then (each costs megabytes of loopback traffic), mostly well under it.
      return Buffer.alloc(rng.chance(0.1) ? rng.pick([4 * 1024 * 1024 + 1, 6 * 1024 * 1024]) : rng.pick([16 * 1024, 256 * 1024]), rng.pick(['[', ' ', 'a', '{', '"']));
    case 2:
      return Buffer.concat([Buffer.from('{"records":[{"value":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}]}')]); // invalid UTF-8
    case 3:
      return Buffer.from(JSON.stringify(jsonBody(rng)) ?? 'null').subarray(0, rng.int(64)); // truncated JSON
    case 4:
      return mutateBytes(rng, Buffer.from(JSON.stringify(jsonBody(rng)) ?? 'null'), 4);
    case 5:
      return Buffer.alloc(0);
    default:
      return Buffer.from(JSON.stringify(jsonBody(rng)) ?? 'null');
  }
}

export class HttpInputs {
  constructor(
    private readonly routes: Route[],
    private readonly host: string,
  ) {}

  script(rng: Rng): Script {
    const route = rng.pick(this.routes);
    const method = rng.chance(0.85) ? route.method : rng.pick(ODD_METHODS);
    let path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => paramValue(rng, name)) + query(rng);
    if (rng.chance(0.03)) path += '/' + 'a'.repeat(rng.pick([8_000, 70_000]));
    if (rng.chance(0.02)) path = rng.pick(['*', '//topics', '/topics/../topics', 'http://evil/topics', '/topics#x', '/%']);
    const payload = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) || rng.chance(0.1) ? body(rng) : Buffer.alloc(0);
    const headers: string[] = [`Host: ${this.host}`, 'Connection: close'];
    const contentType = rng.chance(0.75) ? 'application/json' : rng.pick(CONTENT_TYPES);
    if (contentType) headers.push(`Content-Type: ${contentType}`);
    const framing = rng.int(10);
    const framingLabel = framing === 0 ? ', chunked' : framing === 1 ? ', bad Content-Length' : '';
    let encodedBody: Buffer = payload;
    if (framing === 0) {
      headers.push('Transfer-Encoding: chunked');
      const pieces = splitRandomly(rng, payload, 4).map((p) => Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]));
      const end = rng.chance(0.8) ? '0\r\n\r\n' : rng.pick(['zz\r\n', 'fffffffffffffff\r\n', '-1\r\n', '']);
      encodedBody = Buffer.concat([...pieces, Buffer.from(end)]);
    } else if (framing === 1) {
      headers.push(`Content-Length: ${rng.pick([-1, 0, payload.length + 10, Math.max(0, payload.length - 3), 1e12])}`);
      headers.push(rng.chance(0.5) ? 'Content-Length: 0' : 'X-Dup: 1');
    } else if (payload.length || method !== 'GET') {
      headers.push(`Content-Length: ${payload.length}`);
    }
    if (rng.chance(0.05)) headers.push(`X-Big: ${'b'.repeat(rng.pick([8_000, 20_000, 100_000]))}`);
    if (rng.chance(0.05)) headers.push(Buffer.from([0x58, 0x2d, 0x55, 0x3a, 0x20, 0xc3, 0x28, 0xff]).toString('latin1')); // invalid UTF-8 value
    if (rng.chance(0.03)) headers.push('Expect: 100-continue');
    if (rng.chance(0.03)) headers.push('Accept: text/event-stream');
    const head = Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
    const all = Buffer.concat([head, encodedBody]);
    return { kind: 'http', label: `${method} ${path.slice(0, 120)} (${contentType || 'no type'}, ${payload.length} bytes${framingLabel})`, chunks: rng.chance(0.1) ? splitRandomly(rng, all, 4) : [all], inputs: 1 };
  }
}
