/**
 * The demo's `--source postgres` input: customers come from real SQL on the project's own PostgreSQL,
 * captured by Debezium (Kafka Connect, JsonConverter with schemas) onto the run's CDC topic; card
 * transactions go to the event topic as JSON. Also the closing act: one row updated in SQL and its
 * prediction read back from Redis once the pipeline has scored the change.
 */
import type { KafkaClient } from '../../src/adapters/kafka.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import type { Config } from '../../src/config/index.js';
import { lookupClientFor } from '../../src/lookup/index.js';
import { produceSample } from '../../src/sample/index.js';
import { cdcEndpoints, ConnectClient, customersConnector, ensureCdcServices } from './connect.js';
import { BankWorkload } from './workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PostgresSource {
  /** Change events plus transactions the pipeline will receive (tombstones included). */
  readonly expectedRecords: () => Promise<number>;
  readonly showLookupAfterUpdate: (config: Readonly<Config>) => Promise<void>;
  readonly close: () => Promise<void>;
}

export async function startPostgresSource(
  kafka: KafkaClient,
  config: Readonly<Config>,
  run: string,
  customers: number,
  seed: number,
): Promise<PostgresSource> {
  console.log('== CDC source: PostgreSQL + Debezium (bash scripts/cdc.sh up)');
  ensureCdcServices();
  const endpoints = cdcEndpoints();
  const cdcTopic = config.inputs.cdc[0]?.topic as string;
  const txTopic = config.inputs.events[0]?.topic as string;
  const { connector, slot } = customersConnector(endpoints, run, cdcTopic, { converter: 'json-schemas' });
  const connect = new ConnectClient(endpoints.connectUrl);
  const sql = await BankWorkload.connect(endpoints, seed);
  await sql.resetTable();
  await sql.truncate();
  const before = Math.max(1, Math.round(customers * 0.6));
  await sql.seed(before);
  console.log(`   ${before} customers inserted before capture starts (the connector's snapshot reads them)`);
  await connect.register(connector);
  console.log(
    `   connector ${connector.name} running: ${cdcTopic} ← postgresql://127.0.0.1:${endpoints.pgPort}/bank`,
  );
  const started = Date.now();
  await sql.live({
    inserts: customers - before,
    updates: customers,
    deletes: Math.round(customers * 0.03),
    keyChanges: 2,
    repeatedUpdates: 10,
    bulkRows: Math.min(500, before),
  });
  const c = sql.counts;
  console.log(
    `   SQL: ${c.inserts - before} inserts, ${c.updates} updates (${c.bulkRows} in one long transaction, ${c.repeatedUpdates} of one row in one transaction), ${c.deletes} deletes, ${c.keyChanges} primary-key changes, ${c.transactions} multi-statement transactions in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const ids = (await sql.query('SELECT id FROM bank.customers')).rows.map((r: { id: string }) =>
    Number(r.id),
  );
  const transactions = sql.transactions(ids, 8, Date.now(), 6);
  await produceSample(
    kafka,
    createRegistryClient(config.registry),
    { cdc: [], transactions },
    {
      cdcTopic,
      transactionsTopic: txTopic,
      format: 'json',
    },
  );
  console.log(`   ${transactions.length} card transactions produced to ${txTopic} (JSON)`);
  const changes = c.inserts + c.updates + c.deletes + 2 * c.keyChanges;
  const tombstones = c.deletes + c.keyChanges;

  return {
    expectedRecords: async () => changes + tombstones + transactions.length,
    async showLookupAfterUpdate(cfg) {
      const id = ids[0];
      if (id === undefined) return;
      const lookup = lookupClientFor(cfg);
      try {
        const old = await lookup.get(String(id));
        const statement = `UPDATE bank.customers SET balance = balance - 2500, utilisation = 0.97, updated_at = now() WHERE id = ${id}`;
        console.log(`== SQL: ${statement}`);
        await sql.query(statement);
        const sent = Date.now();
        for (let i = 0; i < 200; i++) {
          const p = await lookup.get(String(id));
          if (p !== null && old !== null && p.version > old.version) {
            console.log(
              `   Redis lookup of customer ${id} ${Date.now() - sent} ms after the commit: score ${old.score.toFixed(4)} → ${p.score.toFixed(4)} (${p.tier}), version ${p.version}, as_of ${p.asOf.toISOString()}`,
            );
            console.log(`   (same as: streamscore lookup ${id})`);
            return;
          }
          await sleep(100);
        }
        console.log(`   customer ${id}: no new prediction within 20 s`);
      } finally {
        await lookup.close();
      }
    },
    async close() {
      await connect.remove(connector.name).catch(() => undefined);
      await sql.dropCapture(slot).catch(() => undefined);
      await sql.close();
    },
  };
}
