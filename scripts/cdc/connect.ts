/**
 * The Kafka Connect REST API, as far as the demo and the CDC tests use it: register a Debezium connector
 * from a template in cdc/connectors/, wait until it and its task run, restart it, delete it. The worker is
 * the one `bash scripts/cdc.sh up` starts (STREAMSCORE_CONNECT_URL, default http://127.0.0.1:8083).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CdcEndpoints {
  readonly connectUrl: string;
  readonly pgHost: string;
  readonly pgPort: number;
  readonly pgDatabase: string;
  readonly pgUser: string;
}

export function cdcEndpoints(env: NodeJS.ProcessEnv = process.env): CdcEndpoints {
  return {
    connectUrl: env.STREAMSCORE_CONNECT_URL ?? `http://127.0.0.1:${env.STREAMSCORE_CONNECT_PORT ?? '8083'}`,
    pgHost: '127.0.0.1',
    pgPort: Number(env.STREAMSCORE_PG_PORT ?? '55432'),
    pgDatabase: 'bank',
    pgUser: 'streamscore',
  };
}

/** Starts (or reuses) the private PostgreSQL and the Connect worker; throws with the script's output. */
export function ensureCdcServices(root = process.cwd()): void {
  try {
    execFileSync('bash', [join(root, 'scripts/cdc.sh'), 'up'], { stdio: 'pipe', timeout: 600_000 });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(
      `bash scripts/cdc.sh up failed: ${e.message}\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
    );
  }
}

/**
 * SIGKILLs the Connect worker `scripts/cdc.sh` started (a crash: its connectors lose the source offsets
 * they had not flushed yet, so Debezium re-sends those changes after `ensureCdcServices` starts it again).
 */
export function killConnectWorker(root = process.cwd()): number {
  const pid = Number(readFileSync(join(root, '.run/cdc-connect.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('no Connect worker pid in .run/cdc-connect.pid');
  process.kill(pid, 'SIGKILL');
  // gone before returning, so that a following `cdc.sh up` does not find it still running
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    execFileSync('sleep', ['0.1']);
  }
  throw new Error(`the Connect worker (pid ${pid}) did not exit after SIGKILL`);
}

/**
 * What the Connect worker's log says about one connector's offsets and restarts (the lines of Debezium's
 * restart-position search, stored offsets, errors and warnings), newest last: for a test's failure message.
 */
export function connectLogExcerpt(name: string, root = process.cwd(), maxLines = 60): string {
  let text = '';
  try {
    text = readFileSync(join(root, '.run/logs/connect.log'), 'utf8');
  } catch (err) {
    return `(no Connect log: ${(err as Error).message})`;
  }
  const wanted =
    /Found previous (partition )?offset|WAL|LSN|switching off|restart|ERROR|WARN|Stopping|Starting|Snapshot ended/;
  const lines = text.split('\n').filter((l) => l.includes(name) && wanted.test(l));
  return lines
    .slice(-maxLines)
    .map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l))
    .join('\n');
}

/** `${name}` placeholders of a connector template replaced; every placeholder must be given. */
export function fillTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`connector template: no value for \${${k}}`);
    return v;
  });
}

export interface ConnectorConfig {
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
}

export function connectorFromTemplate(
  file: string,
  vars: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>> = {},
): ConnectorConfig {
  const parsed = JSON.parse(fillTemplate(readFileSync(file, 'utf8'), vars)) as ConnectorConfig;
  return { name: parsed.name, config: { ...parsed.config, ...overrides } };
}

export class ConnectClient {
  constructor(private readonly url: string) {}

  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  /** Creates the connector (or replaces its config) and waits until it and every task are RUNNING. */
  async register(c: ConnectorConfig, timeoutMs = 60_000): Promise<void> {
    const r = await this.#call('PUT', `/connectors/${encodeURIComponent(c.name)}/config`, c.config);
    if (r.status >= 300)
      throw new Error(`registering connector ${c.name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    await this.waitRunning(c.name, timeoutMs);
  }

  async status(name: string): Promise<{ connector: string; tasks: string[]; trace?: string }> {
    const r = await this.#call('GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (r.status === 404) return { connector: 'ABSENT', tasks: [] };
    const s = r.json as {
      connector?: { state?: string; trace?: string };
      tasks?: Array<{ state?: string; trace?: string }>;
    };
    const trace = s.connector?.trace ?? s.tasks?.find((t) => t.trace !== undefined)?.trace;
    return {
      connector: s.connector?.state ?? 'UNKNOWN',
      tasks: (s.tasks ?? []).map((t) => t.state ?? 'UNKNOWN'),
      ...(trace === undefined ? {} : { trace }),
    };
  }

  async waitRunning(name: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // a worker that is starting refuses connections for a moment: keep asking until the deadline
    const ask = () =>
      this.status(name).catch((err: Error) => ({ connector: `UNREACHABLE (${err.message})`, tasks: [] }));
    let last: { connector: string; tasks: string[]; trace?: string } = await ask();
    while (Date.now() < deadline) {
      if (last.connector === 'RUNNING' && last.tasks.length > 0 && last.tasks.every((t) => t === 'RUNNING'))
        return;
      if (last.connector === 'FAILED' || last.tasks.includes('FAILED'))
        throw new Error(`connector ${name} failed: ${last.trace?.slice(0, 2000) ?? '(no trace)'}`);
      await sleep(250);
      last = await ask();
    }
    throw new Error(`connector ${name} not running after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /**
   * Waits until Connect has committed a streaming offset for the connector (one that names the commit LSN
   * of a streamed transaction, `lsn_commit`), past `afterLsn` when given: a worker killed after that resumes
   * streaming from the offset (the fault the CDC tests inject), not from the snapshot's offset. Debezium puts
   * lsn_commit into the offset of a record that follows a streamed commit, so a caller may need to make more
   * than one change.
   */
  async waitStreamingOffset(name: string, afterLsn = -1, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await this.offsets(name).catch(() => undefined);
      const offsets = (last as { offsets?: Array<{ offset?: { lsn_commit?: unknown } }> } | undefined)
        ?.offsets;
      const commit = Number(offsets?.[0]?.offset?.lsn_commit ?? Number.NaN);
      if (Number.isFinite(commit) && commit > afterLsn) return commit;
      await sleep(250);
    }
    throw new Error(
      `connector ${name}: no streaming offset committed after ${timeoutMs} ms: ${JSON.stringify(last)}`,
    );
  }

  /** The source offsets Connect has stored for the connector (its REST endpoint's answer). */
  async offsets(name: string): Promise<unknown> {
    return (await this.#call('GET', `/connectors/${encodeURIComponent(name)}/offsets`)).json;
  }

  /** Restarts the connector and its tasks (Debezium resumes from the last offset it committed). */
  async restart(name: string, timeoutMs = 60_000): Promise<void> {
    const r = await this.#call(
      'POST',
      `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=false`,
    );
    if (r.status >= 300)
      throw new Error(`restarting connector ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    await sleep(500);
    await this.waitRunning(name, timeoutMs);
  }

  async remove(name: string): Promise<void> {
    const r = await this.#call('DELETE', `/connectors/${encodeURIComponent(name)}`);
    if (r.status >= 300 && r.status !== 404)
      throw new Error(`deleting connector ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  }
}

export interface CustomersCapture {
  readonly connector: ConnectorConfig;
  /** Replication slot and publication name (drop both when the connector is gone). */
  readonly slot: string;
}

/**
 * The Debezium connector for bank.customers onto `cdcTopic` (`<prefix>.bank.customers`), from the JSON or
 * the Avro template, named `name` with a slot and publication of its own.
 */
export function customersConnector(
  endpoints: CdcEndpoints,
  name: string,
  cdcTopic: string,
  opts: {
    readonly converter: 'json-schemas' | 'json-plain' | 'avro';
    readonly registryUrl?: string;
    readonly overrides?: Readonly<Record<string, string>>;
  },
): CustomersCapture {
  const slot = name.replace(/[^a-z0-9]/g, '_').slice(0, 60);
  const connector = connectorFromTemplate(
    opts.converter === 'avro' ? 'cdc/connectors/customers-avro.json' : 'cdc/connectors/customers.json',
    {
      name,
      topicPrefix: cdcTopic.slice(0, -'.bank.customers'.length),
      slotName: slot,
      publicationName: slot,
      pgPort: String(endpoints.pgPort),
      tableIncludeList: 'bank.customers',
      schemasEnable: String(opts.converter === 'json-schemas'),
      // Apicurio's converter speaks the registry's v2 API, not the Confluent-compatible one
      registryUrl: (opts.registryUrl ?? '').replace('/apis/ccompat/v7', '/apis/registry/v2'),
    },
    opts.overrides,
  );
  return { connector, slot };
}
