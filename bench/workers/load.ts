/**
 * Open-loop load: card transactions at a fixed rate for customers that have a profile, whatever the
 * pipeline does. Event i is due at `startAt + i / rate`; its `event_time` is that instant, so the latency
 * measured from it includes any delay of this producer (no coordinated omission). Writes (customer id,
 * event time) of every event to `outFile` (float64 pairs) for the driver to match against what it observed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createPlainProducer } from '../../src/adapters/kafka-produce.js';
import type { PlainMessage } from '../../src/adapters/kafka-produce.js';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { encodeTransaction, kafkaPartition, registerSampleSchemas } from '../../src/sample/index.js';
import type { Channel } from '../../src/sample/index.js';
import { configOf, readSpec, report, runMain, sleep } from './common.js';

export interface LoadSpec {
  readonly config: unknown;
  readonly rate: number;
  readonly seconds: number;
  /** JSON array of customer ids to draw from. */
  readonly idsFile: string;
  readonly partitions: number;
  readonly tag: string;
  readonly seed: number;
  readonly outFile: string;
  /** Epoch ms of event 0 (lets the driver start its observers first). */
  readonly startAt: number;
}

const CHANNELS: readonly Channel[] = ['card', 'card', 'card', 'online', 'online', 'atm', 'branch'];
const MCC = ['5411', '5812', '5541', '5999', '4111', '5732', '7011', '5311'];

async function main(): Promise<void> {
  const spec = readSpec<LoadSpec>();
  const cfg = configOf(spec.config);
  const cdcTopic = cfg.inputs.cdc[0]?.topic as string;
  const topic = cfg.inputs.events[0]?.topic as string;
  const ids = JSON.parse(readFileSync(spec.idsFile, 'utf8')) as number[];
  if (ids.length === 0) throw new Error('no customer ids to send transactions for');
  const schemaIds = await registerSampleSchemas(createRegistryClient(cfg.registry), cdcTopic, topic);
  const producer = createPlainProducer(createKafkaClient(cfg.kafka));
  const total = Math.round(spec.rate * spec.seconds);
  const out = new Float64Array(total * 2);
  let rng = spec.seed >>> 0 || 1;
  const next = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };
  const partitionOf = new Map<number, number>();
  let made = 0;
  let buffer: PlainMessage[] = [];
  let bufferFirstDue = 0;
  const make = () => {
    const due = Math.min(total, Math.floor(((Date.now() - spec.startAt) * spec.rate) / 1000));
    for (; made < due; made++) {
      const id = ids[Math.floor(next() * ids.length)] as number;
      const eventTime = Math.floor(spec.startAt + (made * 1000) / spec.rate);
      let partition = partitionOf.get(id);
      if (partition === undefined) {
        partition = kafkaPartition(String(id), spec.partitions);
        partitionOf.set(id, partition);
      }
      const value = encodeTransaction(
        'avro',
        {
          txn_id: `${spec.tag}-${made}`,
          customer_id: id,
          amount: Math.round(500 + next() * 25_000) / 100,
          type: next() < 0.85 ? 'debit' : 'credit',
          channel: CHANNELS[Math.floor(next() * CHANNELS.length)] as Channel,
          mcc: MCC[Math.floor(next() * MCC.length)] as string,
          declined: next() < 0.02,
          event_time: eventTime,
        },
        schemaIds,
      );
      if (buffer.length === 0) bufferFirstDue = eventTime;
      buffer.push({ partition, key: String(id), value });
      out[made * 2] = id;
      out[made * 2 + 1] = eventTime;
    }
  };
  while (Date.now() < spec.startAt) await sleep(1);
  const ticker = setInterval(make, 2);
  let sends = 0;
  let maxSendDelayMs = 0;
  try {
    while (made < total || buffer.length > 0) {
      if (buffer.length === 0) {
        await sleep(1);
        continue;
      }
      const batch = buffer;
      buffer = [];
      maxSendDelayMs = Math.max(maxSendDelayMs, Date.now() - bufferFirstDue);
      await producer.send(topic, batch);
      sends++;
    }
  } finally {
    clearInterval(ticker);
    await producer.close();
  }
  const elapsed = (Date.now() - spec.startAt) / 1000;
  writeFileSync(spec.outFile, Buffer.from(out.buffer));
  report({ sent: made, sends, seconds: elapsed, achievedRate: made / elapsed, maxSendDelayMs });
}

runMain(main);
