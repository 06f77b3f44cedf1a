/**
 * What a streamscore build runs with, asked of that build's own compiled code rather than restated here:
 * its effective configuration (its parseConfig over the bench's config input, so its own defaults) and the
 * kafkajs consumer options its input adapter derives from that configuration (createInputConsumer driven
 * with a client that records what it is given). The bare-kafkajs baseline reads with exactly those consumer
 * options, and the results record them next to each drain.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The kafkajs options the pipeline's input consumer is created and run with. */
export interface ConsumerSettings {
  /** kafka.consumer(...) options (groupId included). */
  readonly consumer: Readonly<Record<string, unknown>>;
  /** consumer.run(...) options, functions left out. */
  readonly run: Readonly<Record<string, unknown>>;
}

/** createInputConsumer's shape; the client parameter is typed `never` so any build's signature fits. */
type CreateInputConsumer<C = never> = (
  client: never,
  cfg: C,
  topics: readonly string[],
) => { start(handler: () => Promise<void>): Promise<void> };

const noop = async () => undefined;

/** Drives `createInputConsumer` with a recording client: nothing connects, nothing is fetched. */
export async function captureInputConsumer<C>(
  create: CreateInputConsumer<C>,
  cfg: C,
  topics: readonly string[],
): Promise<ConsumerSettings> {
  let consumer: Record<string, unknown> = {};
  let run: Record<string, unknown> = {};
  const fake: Record<string, unknown> = {
    // consumer.events.X is only used as an event name
    events: new Proxy({}, { get: (_t, k) => String(k) }),
    on: () => undefined,
    run: async (o: Record<string, unknown>) => {
      run = Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v !== 'function'));
    },
  };
  const stub = new Proxy(fake, { get: (t, k) => (k in t ? t[k as string] : noop) });
  const client = {
    consumer: (o: Record<string, unknown>) => {
      consumer = { ...o };
      return stub;
    },
    admin: () => stub,
  };
  await create(client as never, cfg, topics).start(noop);
  return { consumer, run };
}

/** How a drain ran: guarantees, the settings that shape the work, and the node flags. */
export interface RunSettings {
  readonly build: string;
  readonly exactlyOnce: string;
  readonly isolation: 'read_committed' | 'read_uncommitted' | 'unknown';
  readonly fetch: Readonly<Record<string, unknown>>;
  readonly window: unknown;
  readonly state: unknown;
  readonly consumer: unknown;
  readonly backpressure: unknown;
  readonly model: unknown;
  readonly node: {
    readonly version: string;
    readonly flags: readonly string[];
    readonly nodeOptions: string;
  };
}

interface BuildModules {
  parseConfig(
    raw: unknown,
    env: NodeJS.ProcessEnv,
  ): Record<string, unknown> & {
    inputs: { cdc: Array<{ topic: string }>; events: Array<{ topic: string }> };
  };
  createInputConsumer: CreateInputConsumer<unknown>;
  createTransactionalProducer?: unknown;
}

async function modulesOf(root: string): Promise<BuildModules> {
  const load = (p: string) =>
    import(pathToFileURL(join(root, 'dist', 'src', p)).href) as Promise<Record<string, unknown>>;
  const [config, io, pipeline] = await Promise.all([
    load('config/index.js'),
    load('adapters/kafka-io.js'),
    load('pipeline/index.js'),
  ]);
  if (typeof config['parseConfig'] !== 'function' || typeof io['createInputConsumer'] !== 'function')
    throw new Error(`${root}: dist/src has no parseConfig or createInputConsumer`);
  const create = io['createInputConsumer'] as CreateInputConsumer<unknown>;
  // newer builds give the consumer options built from the config; older ones the config itself
  const options = pipeline['inputConsumerOptions'] as ((cfg: unknown) => unknown) | undefined;
  return {
    parseConfig: config['parseConfig'] as BuildModules['parseConfig'],
    createInputConsumer:
      options === undefined ? create : (client, cfg, topics) => create(client, options(cfg), topics),
    createTransactionalProducer: io['createTransactionalProducer'],
  };
}

/** The consumer options of the build at `root` (its dist/) for a config input. */
export async function consumerSettingsOf(root: string, input: unknown): Promise<ConsumerSettings> {
  const m = await modulesOf(root);
  const cfg = m.parseConfig(input, process.env);
  const topics = [...cfg.inputs.cdc.map((i) => i.topic), ...cfg.inputs.events.map((i) => i.topic)];
  return captureInputConsumer(m.createInputConsumer, cfg, topics);
}

const FETCH_KEYS = [
  'minBytes',
  'maxBytes',
  'maxBytesPerPartition',
  'maxWaitTimeInMs',
  'sessionTimeout',
  'heartbeatInterval',
  'readUncommitted',
];

/** The settings of the build at `root` for a config input, with the node flags its processes get. */
export async function runSettingsOf(
  build: string,
  root: string,
  input: unknown,
  nodeFlags: readonly string[],
): Promise<RunSettings> {
  const m = await modulesOf(root);
  const cfg = m.parseConfig(input, process.env);
  const topics = [...cfg.inputs.cdc.map((i) => i.topic), ...cfg.inputs.events.map((i) => i.topic)];
  const c = await captureInputConsumer(m.createInputConsumer, cfg, topics);
  const readUncommitted = c.consumer['readUncommitted'];
  return {
    build,
    exactlyOnce:
      typeof m.createTransactionalProducer === 'function'
        ? 'on: a transactional producer per input partition; each window’s predictions, audit, DLQ records and input offsets in one Kafka transaction (not configurable)'
        : 'unknown (no createTransactionalProducer in this build)',
    isolation:
      readUncommitted === false
        ? 'read_committed'
        : readUncommitted === true
          ? 'read_uncommitted'
          : 'unknown',
    fetch: {
      ...Object.fromEntries(FETCH_KEYS.map((k) => [k, c.consumer[k]])),
      partitionsConsumedConcurrently: c.run['partitionsConsumedConcurrently'],
    },
    window: cfg['window'],
    state: cfg['state'] ?? null,
    // the group differs per drain and stage; the rest is the build's consumer configuration
    consumer: Object.fromEntries(
      Object.entries(cfg['consumer'] as Record<string, unknown>).filter(([k]) => k !== 'groupId'),
    ),
    backpressure: cfg['backpressure'] ?? null,
    model: cfg['model'],
    node: { version: process.version, flags: [...nodeFlags], nodeOptions: process.env['NODE_OPTIONS'] ?? '' },
  };
}

/** One line per setting, for the console and the results. */
export function describeSettings(s: RunSettings): string[] {
  const j = (v: unknown) => JSON.stringify(v);
  return [
    `${s.build}: exactly-once ${s.exactlyOnce}`,
    `   isolation ${s.isolation}; fetch ${j(s.fetch)}`,
    `   window ${j(s.window)}; state ${j(s.state)}; backpressure ${j(s.backpressure)}`,
    `   consumer ${j(s.consumer)}; model ${j(s.model)}`,
    `   node ${s.node.version}, flags ${s.node.flags.length === 0 ? '(none)' : s.node.flags.join(' ')}, NODE_OPTIONS ${s.node.nodeOptions === '' ? '(unset)' : s.node.nodeOptions}`,
  ];
}
