// The HTTP API as a Fastify instance: topics, produce, records, brokers, the OpenAPI document, its docs page and the web
// console, each a named plugin.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { logFailure } from '@sluice/runtime';
import type { GatewayCluster } from '../cluster/gateway-cluster.js';
import { HttpError } from './http-error.js';
import { topicsRoutes } from './topics-routes.js';
import { replicasRoutes } from './replicas-routes.js';
import { produceRoutes } from './produce-routes.js';
import { recordsRoutes } from './records-routes.js';
import { groupsRoutes } from './groups-routes.js';
import { consumersRoutes } from './consumers-routes.js';
import { streamRoutes } from './stream-routes.js';
import { clusterRoutes } from './cluster-routes.js';
import { consoleRoutes, docsRoutes } from './console-routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's view of the cluster, shared by every route plugin (decorated once by buildHttpApi). */
    cluster: GatewayCluster;
  }
}

const MAX_PARAM_LENGTH = 1024;

/** Writes a whole error response on a raw socket (before or outside Fastify's request handling) and closes it. */
function endWithError(socket: Duplex, error: HttpError): void {
  if (socket.destroyed) return;
  if (socket.writable) {
    const body = JSON.stringify(error.body());
    const reason = STATUS_CODES[error.status] ?? 'Error';
    socket.write(`HTTP/1.1 ${error.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Requests Node's parser refuses (unknown methods, bad headers, timeouts) get the API's error shape. */
function clientErrorResponse(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET') return;
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return endWithError(socket, new HttpError(408, 40801, 'REQUEST_TIMEOUT', 'the request did not arrive in time'));
    case 'HPE_HEADER_OVERFLOW':
      return endWithError(socket, new HttpError(431, 43101, 'HEADERS_TOO_LARGE', 'the request headers are too large'));
    case 'HPE_INVALID_METHOD':
      return endWithError(socket, new HttpError(405, 40501, 'METHOD_NOT_ALLOWED', 'the request method is not supported'));
    default:
      return endWithError(socket, HttpError.badRequest(`malformed HTTP request (${err.code ?? 'parse error'})`));
  }
}

/** Media types the API accepts as JSON bodies: plain JSON and Confluent REST Proxy v2's. */
const KAFKA_MEDIA_TYPES = /^application\/vnd\.(kafka|sluice)(\.[a-z]+)?\.v[0-9]+\+json$/;

/** REST Proxy's schema-registry formats: refused (415) rather than stored as plain JSON without their schemas. */
const SCHEMA_MEDIA_TYPE = /^application\/vnd\.kafka\.(avro|protobuf|jsonschema)\.v[0-9]+\+json/i;

/** `/topics/:topic/partitions/:partition` as a pattern that matches request paths (for 405 on a known path). */
function routePattern(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

export async function buildHttpApi(cluster: GatewayCluster): Promise<FastifyInstance> {
  const { config } = cluster;
  const app = Fastify({
    loggerInstance: cluster.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    // allowUnionTypes: schemas such as auto.commit.enable's ['string', 'boolean'] are meant (no strict-mode warning at start).
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
    // Path parameters hold topic names (Kafka allows 249 characters), group ids and instance ids.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Clients that send slowly, or never finish: headers and whole requests have deadlines (checked every second),
    // and a connection without traffic closes.
    requestTimeout: config.httpRequestReadTimeoutMs,
    connectionTimeout: config.httpIdleTimeoutMs,
    keepAliveTimeout: Math.min(72_000, config.httpIdleTimeoutMs),
    http: { headersTimeout: config.httpHeadersTimeoutMs, requestTimeout: config.httpRequestReadTimeoutMs, connectionsCheckingInterval: 1000 },
    clientErrorHandler: clientErrorResponse,
    // Errors the router raises before any route runs get the API's error shape too.
    frameworkErrors: (err, _request, reply) => {
      const error =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new HttpError(414, 41401, 'URI_TOO_LONG', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`)
          : HttpError.badRequest(err.message);
      void (reply as FastifyReply).code(error.status).send(error.body());
    },
  });
  // Node hands CONNECT to 'connect' listeners instead of routes, and drops the connection when there is none.
  app.server.on('connect', (req: IncomingMessage, socket: Duplex) =>
    endWithError(socket, new HttpError(405, 40501, 'METHOD_NOT_ALLOWED', `${req.method ?? 'this method'} is not supported`)),
  );
  app.decorate('cluster', cluster);

  // REST Proxy clients send an empty body with their media type (e.g. committing every polled offset): no body, not
  // an error. Plain application/json keeps Fastify's parser (an empty body there is INVALID_JSON).
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(KAFKA_MEDIA_TYPES, { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    return json(request, body as string, done);
  });
  // Bodies are JSON: text/plain is not parsed as a string body (415 instead).
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request) => {
    const type = request.headers['content-type'];
    const accept = request.headers.accept;
    const schemaType = (type && SCHEMA_MEDIA_TYPE.exec(type)) ?? (accept && SCHEMA_MEDIA_TYPE.exec(accept));
    if (schemaType) {
      throw new HttpError(
        415,
        41502,
        'UNSUPPORTED_MEDIA_TYPE',
        `${schemaType[1]} needs a schema registry, which Sluice does not have yet: use application/vnd.kafka.json.v2+json, application/vnd.kafka.binary.v2+json or application/json`,
      );
    }
  });
  // Which methods each route path has, for 405 (with Allow) instead of 404 on a path that exists.
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
    const existing = routes.find((r) => r.pattern.source === routePattern(route.url).source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else routes.push({ pattern: routePattern(route.url), methods: new Set(methods) });
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = toHttpError(err);
    if (mapped.status >= 500) logFailure(request.log, err, 'request failed', { url: request.url });
    if (mapped.status === 503) void reply.header('retry-after', '1');
    void reply.status(mapped.status).send(mapped.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]));
    if (allowed.size > 0) {
      void reply
        .status(405)
        .header('allow', [...allowed].sort().join(', '))
        .send(new HttpError(405, 40501, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path} (allowed: ${[...allowed].sort().join(', ')})`).body());
      return;
    }
    void reply.status(404).send(new HttpError(404, 40400, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).body());
  });
  app.addHook('onResponse', async (request, reply) => {
    cluster.metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode).observe(reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Sluice HTTP API', version: '0.1.0', description: 'Produce, read and administer topics of a Sluice cluster.' },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/', { schema: { hide: true } }, async () => ({ name: 'sluice', api: '/openapi.json', docs: '/docs', ...(config.consoleEnabled ? { console: '/console/' } : {}) }));

  await app.register(topicsRoutes);
  await app.register(replicasRoutes);
  await app.register(produceRoutes);
  await app.register(recordsRoutes);
  await app.register(groupsRoutes);
  await app.register(consumersRoutes);
  await app.register(streamRoutes);
  await app.register(clusterRoutes);
  await app.register(consoleRoutes);
  await app.register(docsRoutes);
  return app;
}

function toHttpError(err: FastifyError): HttpError {
  if (err instanceof HttpError) return err;
  if (err.validation) return HttpError.badRequest(`${err.validationContext ?? 'request'} ${err.message.replace(/^(body|querystring|params)\/?/, '')}`.trim());
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 41501, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json or a Kafka REST media type such as application/vnd.kafka.json.v2+json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 41302, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${err.message.match(/\d+/)?.[0] ?? 'the limit'}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return HttpError.badRequest('the JSON body is empty', 'INVALID_JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return HttpError.badRequest('the content length does not match the body');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return HttpError.badRequest(`the body is not valid JSON: ${err.message}`, 'INVALID_JSON');
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return HttpError.badRequest(err.message);
  return HttpError.from(err);
}
