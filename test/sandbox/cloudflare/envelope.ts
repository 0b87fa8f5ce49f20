import type { ServerResponse } from 'node:http';
import type { ApiResult } from './api-context.js';
import type { ApiError } from './errors.js';

/** Sends a JSON body; every Cloudflare v4 response is `application/json`, which the SDK requires to parse it. */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function successBody(outcome: ApiResult): Record<string, unknown> {
  return {
    result: outcome.result,
    ...(outcome.resultInfo !== undefined ? { result_info: outcome.resultInfo } : {}),
    success: true,
    errors: [],
    messages: outcome.messages ?? [],
  };
}

export function failureBody(error: ApiError): Record<string, unknown> {
  if (error.bare) return { success: false, errors: error.errors };
  return { result: null, success: false, errors: error.errors, messages: [] };
}
