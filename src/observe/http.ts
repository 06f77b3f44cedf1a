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
  /** The model store and its aliases (`streamscore models …` over HTTP). */
  readonly models?: {
    list(): Promise<unknown>;
    show(version: string): Promise<unknown>;
    promote(body: Readonly<Record<string, unknown>>): Promise<unknown>;
    rollback(body: Readonly<Record<string, unknown>>): Promise<unknown>;
  };
}

/** An admin action's failure as an HTTP answer: 400 for a bad request, 409 for a refused change. */
export class AdminRefusal extends Error {
  constructor(
    readonly status: 400 | 409,
    message: string,
  ) {
    super(message);
  }
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 65536) throw new AdminRefusal(400, 'body over 64 KiB');
  }
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AdminRefusal(400, 'the body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new AdminRefusal(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Routes /admin/…; true when the path was an admin one (answered). */
function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  admin: AdminActions | undefined,
): boolean {
  const models = admin?.models;
  const routes: Record<string, { method: 'GET' | 'POST'; run: () => Promise<unknown> | unknown }> = {
    '/admin/resume': {
      method: 'POST',
      run: () => {
        const result = (admin as AdminActions).resume();
        if (!result.resumed) throw new AdminRefusal(409, 'not held');
        return result;
      },
    },
    ...(models === undefined
      ? {}
      : {
          '/admin/models': { method: 'GET', run: () => models.list() },
          '/admin/models/promote': {
            method: 'POST',
            run: async () => models.promote(await readJsonBody(req)),
          },
          '/admin/models/rollback': {
            method: 'POST',
            run: async () => models.rollback(await readJsonBody(req)),
          },
        }),
  };
  const show = /^\/admin\/models\/([A-Za-z0-9_.-]+)$/.exec(path);
  const route =
    routes[path] ??
    (show !== null && models !== undefined && !path.endsWith('/promote') && !path.endsWith('/rollback')
      ? { method: 'GET' as const, run: () => models.show(show[1] as string) }
      : undefined);
  if (!path.startsWith('/admin/')) return false;
  if (admin === undefined) {
    json(res, 404, {
      error: 'the admin endpoints are off: set observe.adminToken (STREAMSCORE_OBSERVE_ADMIN_TOKEN)',
    });
    return true;
  }
  if (route === undefined) {
    json(res, 404, { error: `no admin endpoint ${path}` });
    return true;
  }
  if (req.method !== route.method) {
    res.setHeader('allow', route.method);
    json(res, 405, { error: `use ${route.method}` });
    return true;
  }
  if (!bearerMatches(req, admin.token)) {
    json(res, 401, { error: 'missing or wrong bearer token' });
    return true;
  }
  Promise.resolve()
    .then(route.run)
    .then(
      (body) => json(res, 200, body),
      (err: unknown) => {
        const status = err instanceof AdminRefusal ? err.status : 500;
        json(res, status, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  return true;
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
 * the admin endpoints when an admin token is set (Authorization: Bearer <token>): POST /admin/resume,
 * GET /admin/models, GET /admin/models/<version>, POST /admin/models/promote and /admin/models/rollback.
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
      if (handleAdmin(req, res, path ?? '/', this.admin)) return;
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
