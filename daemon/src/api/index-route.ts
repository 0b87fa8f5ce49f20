import type { FastifyInstance } from 'fastify';

/**
 * Registers `GET /api2/json/`, which lists the top-level collections the caller's routes serve,
 * as PVE's API does for its directories (`pvesh ls /`).
 */
export function registerIndexRoute(app: FastifyInstance, collections: () => string[]): void {
  app.get('/', () => ({
    data: collections().map((subdir) => ({ subdir })),
  }));
}
