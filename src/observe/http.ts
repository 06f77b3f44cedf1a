import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { STATUS_PAGE } from './status-page.js';

/** Each check returns what is wrong, one readable line per problem; none means healthy. */
export interface HealthSource {
  /** Process is alive and making progress (a failing check asks the orchestrator for a restart). */
  live(): readonly string[];
  /** Connected, assigned and making progress. */
  ready(): readonly string[];
}

/** /metrics, /healthz, /readyz and the status page (/status, /status.json) on one small HTTP server. */
export class ObserveServer {
  #server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly health: HealthSource,
    private readonly status?: () => unknown,
  ) {}

  async start(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        this.registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(body);
          })
          .catch((err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          });
        return;
      }
      if (this.status !== undefined && (path === '/status' || path === '/status/')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(STATUS_PAGE);
        return;
      }
      if (this.status !== undefined && (path === '/status.json' || path === '/status/status.json')) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(this.status()));
        return;
      }
      if (path === '/healthz' || path === '/readyz') {
        const problems = path === '/healthz' ? this.health.live() : this.health.ready();
        const ok = problems.length === 0;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { status: 'ok' } : { status: 'unavailable', problems }));
        return;
      }
      res.writeHead(404);
      res.end();
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
