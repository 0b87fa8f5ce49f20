import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on the given loopback address. The port is released before
 * this returns, so a caller races other processes for it; the sandbox accepts that small risk.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unable to read the port bound on ${host}`));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}
