import { request } from 'node:http';

export interface ApiAnswer {
  status: number;
  body: { data?: unknown; message?: string; errors?: Record<string, string> };
}

/** Sends one request to the daemon's API over its unix socket. */
export async function callApi(socket: string, method: string, path: string, payload: Record<string, unknown> | null): Promise<ApiAnswer> {
  const body = payload === null ? undefined : JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method,
        path: `/api2/json${path}`,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ApiAnswer['body'] });
          } catch {
            reject(new Error(`the daemon returned HTTP ${res.statusCode ?? 0} with a response that is not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the daemon did not respond within 30 s')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
