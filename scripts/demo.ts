/**
 * The demo, end to end on the local services: topics and schemas applied from topics/ and schemas/, a
 * realistic sample stream produced (Debezium CDC of `customers` in Avro, card transactions), the pipeline
 * run until it has caught up, and a summary printed. Each run uses its own topic prefix, consumer group and
 * Redis key prefix, so it can be repeated and never mixes with an earlier run.
 *
 *   npm run demo -- [--customers 2000] [--seed 42] [--keep-running] [--source sample|postgres]
 *
 * `--source postgres`: the customers stream comes from real SQL on the project's own PostgreSQL, captured by
 * Debezium (bash scripts/cdc.sh up starts both), instead of the generated Debezium records.
 */
import { parseArgs } from 'node:util';
import { connectTopicAdmin, createKafkaClient } from '../src/adapters/kafka.js';
import { readToEnd } from '../src/adapters/kafka-replay.js';
import { createRegistryClient } from '../src/adapters/registry.js';
import { loadSchemaManifest, registerSchemas } from '../src/admin/schemas.js';
import { applyTopics } from '../src/admin/topics.js';
import { loadTopicSpecs } from '../src/admin/topic-spec.js';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { predictionReader } from '../src/emit/audit-reader.js';
import type { AuditEventV1, PredictionEventV1 } from '../src/emit/index.js';
import { lookupClientFor } from '../src/lookup/index.js';
import { createLogger } from '../src/observe/logger.js';
import { Pipeline } from '../src/pipeline/index.js';
import { generateStream, produceSample } from '../src/sample/index.js';
import { startPostgresSource } from './cdc/demo-source.js';
import type { PostgresSource } from './cdc/demo-source.js';

function args() {
  try {
    const { values } = parseArgs({
      options: {
        customers: { type: 'string', default: '2000' },
        seed: { type: 'string', default: '42' },
        'keep-running': { type: 'boolean', default: false },
        source: { type: 'string', default: 'sample' },
      },
      strict: true,
    });
    const customers = Number(values.customers);
    const seed = Number(values.seed);
    if (!Number.isInteger(customers) || customers < 1)
      throw new Error(`--customers must be a whole number >= 1, got "${values.customers}"`);
    if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);
    if (values.source !== 'sample' && values.source !== 'postgres')
      throw new Error(`--source must be sample or postgres, got "${values.source}"`);
    return { customers, seed, keepRunning: values['keep-running'] === true, source: values.source };
  } catch (err) {
    console.error(
      `demo: ${(err as Error).message}\nusage: npm run demo -- [--customers 2000] [--seed 42] [--keep-running] [--source sample|postgres]`,
    );
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const opts = args();
  const run = `demo-${new Date()
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14)}`;
  const prefix = `${run}.`;
  const base = loadConfig('config/streamscore.yaml');
  // Debezium's JsonConverter (schemas on) for the captured table; the card transactions as JSON too
  const format = opts.source === 'postgres' ? 'json' : 'avro';
  const config = parseConfig(
    {
      ...structuredClone(base),
      inputs: {
        cdc: base.inputs.cdc.map((i) => ({
          ...i,
          format,
          topic: prefix + i.topic,
          schemaFile: 'schemas/cdc.bank.customers-value.avsc',
        })),
        events: base.inputs.events.map((i) => ({
          ...i,
          format,
          topic: prefix + i.topic,
          schemaFile: 'schemas/transactions-value.avsc',
        })),
      },
      outputs: {
        predictions: `${prefix}predictions`,
        audit: `${prefix}audit`,
        dlq: `${prefix}dlq`,
        quarantine: `${prefix}quarantine`,
      },
      consumer: { ...base.consumer, groupId: `${run}-churn` },
      redis: { ...base.redis, keyPrefix: `${run}:` },
      observe: { ...base.observe, logLevel: 'warn' },
    },
    process.env,
  );
  const kafka = createKafkaClient(config.kafka);
  const registry = createRegistryClient(config.registry);

  console.log(`== ${run}: topics and schemas (prefix "${prefix}")`);
  const admin = await connectTopicAdmin(kafka);
  const applied = await applyTopics(
    admin,
    loadTopicSpecs('topics', prefix).flatMap((f) => f.topics),
    { force: false },
  );
  await admin.close();
  console.log(`   ${applied.applied.length} topics created`);
  const registered = await registerSchemas(registry, loadSchemaManifest('schemas/schemas.yaml', prefix));
  console.log(
    `   ${registered.length} schemas registered: ${registered.map((r) => `${r.entry.subject}=${r.id}`).join(', ')}`,
  );

  let total: number;
  let pg: PostgresSource | undefined;
  if (opts.source === 'postgres') {
    pg = await startPostgresSource(kafka, config, run, opts.customers, opts.seed);
    total = await pg.expectedRecords();
  } else {
    console.log(`== producing a sample stream: ${opts.customers} customers, seed ${opts.seed}`);
    const stream = generateStream({ seed: opts.seed, customers: opts.customers, partitions: 6 });
    const s = stream.summary;
    const produced = await produceSample(kafka, registry, stream, {
      cdcTopic: config.inputs.cdc[0]?.topic as string,
      transactionsTopic: config.inputs.events[0]?.topic as string,
      format: 'avro',
    });
    total = produced.cdc + produced.transactions;
    console.log(
      `   ${produced.cdc} CDC records (snapshot ${s.cdc.snapshot}, inserts ${s.cdc.inserts}, updates ${s.cdc.updates}, deletes ${s.cdc.deletes} + tombstones, ${s.cdc.duplicates} redelivered, ${s.cdc.stale} stale) and ${produced.transactions} transactions (${s.transactions.duplicates} duplicates, ${s.transactions.late} late) in ${(produced.elapsedMs / 1000).toFixed(1)} s`,
    );
  }

  console.log('== running the pipeline (Ctrl-C stops it)');
  const audits: AuditEventV1[] = [];
  const pipeline = new Pipeline({
    config,
    logger: createLogger('warn'),
    onWindow: (w) => audits.push(w.audit),
  });
  const started = performance.now();
  await pipeline.start();
  let received = 0;
  while (received < total) {
    await new Promise((r) => setTimeout(r, 200));
    received = audits.reduce((n, a) => n + a.counts.received, 0);
    if (pipeline.halted) throw pipeline.halted;
  }
  const seconds = (performance.now() - started) / 1000;
  const sum = (k: keyof AuditEventV1['counts']) => audits.reduce((n, a) => n + a.counts[k], 0);
  console.log(
    `   ${received} records in ${seconds.toFixed(1)} s (${Math.round(received / seconds)} records/s incl. start-up), ${audits.length} windows, exactly-once transactions`,
  );
  console.log(
    `   scored ${sum('entities_scored')} entity versions · coalesced ${sum('coalesced')} · deleted ${sum('deleted')} · unchanged (redeliveries) ${sum('unchanged')} · no profile yet ${sum('no_profile')} · DLQ ${sum('invalid')}`,
  );
  console.log(
    `   ${sum('emitted')} prediction events committed to ${config.outputs.predictions}; ${audits.length} audit events to ${config.outputs.audit}`,
  );

  console.log(`== a few predictions with their lineage, read back from ${config.outputs.predictions}`);
  const readPrediction = predictionReader(registry);
  const log = await readToEnd(kafka, config.outputs.predictions, `${run}-demo-read`);
  const latest = new Map<string, PredictionEventV1>();
  for (const r of log.records) {
    if (r.value === null) continue;
    const p = await readPrediction(r.value);
    if (p.event_type === 'UPSERT') latest.set(p.entity_id, p);
  }
  const sample = [...latest.values()].sort((a, b) => (b.score ?? 0) - (a.score ?? 0)).slice(0, 3);
  for (const p of sample) {
    console.log(
      `   customer ${p.entity_id}: score ${p.score?.toFixed(4)} (${p.tier}) model ${p.model.name}@${p.model.version} sha256 ${p.model.sha256.slice(0, 12)}… features ${p.feature_version}, as_of ${new Date(p.as_of).toISOString()}, from ${p.inputs.map((i) => `${i.topic.slice(prefix.length)}/${i.partition}@${i.offset}`).join(', ')}, batch ${p.batch_id}`,
    );
  }

  const id = sample[0]?.entity_id;
  if (id !== undefined) {
    console.log(`== Redis lookup of customer ${id} (LookupClient; same as: streamscore lookup ${id})`);
    const lookup = lookupClientFor(config);
    const p = await lookup.get(id);
    await lookup.close();
    console.log(
      `   ${JSON.stringify({ score: p?.score, tier: p?.tier, model: p?.model.version, version: p?.version, scoredAt: p?.scoredAt, validUntil: p?.validUntil, stale: p?.stale })}`,
    );
    console.log(`   redis-cli HGETALL '${config.redis.keyPrefix}{${config.pipeline.name}:${id}}'`);
  }
  if (pg !== undefined) {
    await pg.showLookupAfterUpdate(config);
    await pg.close();
  }
  if (opts.keepRunning) {
    console.log(
      `== still running; metrics on http://${config.observe.host}:${pipeline.observePort}/metrics — Ctrl-C to stop`,
    );
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  await pipeline.stop();
}

main().catch((err: unknown) => {
  console.error('demo failed:', err);
  process.exit(1);
});
