import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/** The JSON body of a webhook call. It carries no secret: no credentials, tokens or keys. */
export interface WebhookPayload {
  event: string;
  object: string;
  node: string;
  /** ISO time of the event. */
  time: string;
  message: string;
}

export interface WebhookOptions {
  /** Time allowed for one attempt, connection to response. */
  timeoutMs: number;
  /** Attempts in total; a 4xx other than 408 and 429 stops at once. */
  attempts: number;
  /** Wait before the second attempt, doubled before each further one. */
  retryDelayMs: number;
  /** PEM CA certificates trusted besides the system's, or undefined. */
  ca?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The outcome of one attempt: an HTTP status, or an error before any status arrived. */
type Attempt = { status: number } | { error: Error };

function postOnce(url: string, body: string, options: WebhookOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'pve-domainsd' };
    const outgoing = request(url, { method: 'POST', headers, timeout: options.timeoutMs, ...(options.ca === undefined ? {} : { ca: options.ca }), ...(options.signal === undefined ? {} : { signal: options.signal }) }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
      response.on('error', (err) => resolve({ error: err }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no response within ${options.timeoutMs} ms`)));
    outgoing.on('error', (err) => resolve({ error: err }));
    outgoing.end(body);
  });
}

function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * POSTs `payload` as JSON to `url`, retrying network errors, timeouts and 408, 429 and 5xx
 * statuses. Redirects are not followed. Throws after the last failed attempt; the message
 * names the origin only, because the path may contain the receiver's token.
 */
export async function postWebhook(url: string, payload: WebhookPayload, options: WebhookOptions): Promise<void> {
  const body = JSON.stringify(payload);
  const origin = new URL(url).origin;
  let last = 'no attempt was made';
  let made = 0;
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    made = attempt;
    if (attempt > 1) await sleep(options.retryDelayMs * 2 ** (attempt - 2), undefined, options.signal === undefined ? {} : { signal: options.signal });
    const result = await postOnce(url, body, options);
    if ('status' in result) {
      if (result.status >= 200 && result.status < 300) return;
      last = `HTTP status ${result.status}`;
      if (!retryable(result.status)) break;
    } else {
      last = result.error.message;
      if (options.signal?.aborted === true) break;
    }
  }
  throw new Error(`The webhook at ${origin} failed after ${made} attempt(s): ${last}; check the receiver and the domain's notify-webhook`);
}
