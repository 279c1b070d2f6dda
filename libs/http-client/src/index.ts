// A typed client of the gateway's HTTP API. The types come from the OpenAPI document the gateway serves at
// /openapi.json (committed as openapi.json, generated into src/generated/api.ts by `sluice openapi --write`;
// `npm test` fails when either drifts from the routes).
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './generated/api.js';

export type { components, paths };
export type SluiceHttpClient = Client<paths>;

/** The error body every route answers with on 4xx and 5xx. */
export interface ApiErrorBody {
  error_code: number;
  code: string;
  message: string;
}

/** A request the gateway refused (`status` >= 400), with the API's error code and message. */
export class SluiceApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errorCode?: number,
  ) {
    super(message);
    this.name = 'SluiceApiError';
  }
}

export function createSluiceClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}): SluiceHttpClient {
  return createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, '') });
}

function isErrorBody(body: unknown): body is ApiErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ApiErrorBody).code === 'string' && typeof (body as ApiErrorBody).message === 'string';
}

/** The data of a successful answer; a refused request throws SluiceApiError. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    if (isErrorBody(error)) throw new SluiceApiError(response.status, error.code, error.message, error.error_code);
    throw new SluiceApiError(response.status, 'HTTP_ERROR', `${response.status} ${response.statusText}`);
  }
  return data as T;
}
