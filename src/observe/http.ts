import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** The admin endpoints: off unless a token is configured (observe.adminToken). */
export interface AdminActions {
  readonly token: string;
  /** Lifts a hold of the data-quality gate. */
  resume(): { resumed: boolean; reason?: string };
}

function bearerMatches(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * /metrics, /healthz, /readyz and the status page (/status, /status.json) on one small HTTP server, and
 * POST /admin/resume when an admin token is set (Authorization: Bearer <token>).
 */
export class ObserveServer {
  #server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly health: HealthSource,
    private readonly status?: () => unknown,
    private readonly admin?: AdminActions,
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
      if (path === '/admin/resume') {
        const admin = this.admin;
        if (admin === undefined) {
          json(res, 404, {
            error: 'the admin endpoints are off: set observe.adminToken (STREAMSCORE_OBSERVE_ADMIN_TOKEN)',
          });
          return;
        }
        if (req.method !== 'POST') {
          res.setHeader('allow', 'POST');
          json(res, 405, { error: 'use POST' });
          return;
        }
        if (!bearerMatches(req, admin.token)) {
          json(res, 401, { error: 'missing or wrong bearer token' });
          return;
        }
        const result = admin.resume();
        json(
          res,
          result.resumed ? 200 : 409,
          result.resumed ? result : { resumed: false, error: 'not held' },
        );
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
