import { randomUUID } from 'node:crypto';
import { createKafkaClient } from '../../adapters/kafka.js';
import { createPlainProducer } from '../../adapters/kafka-produce.js';
import { createRedisStore } from '../../adapters/redis.js';
import { createRegistryClient } from '../../adapters/registry.js';
import { coordOf, readDlq, replayEntries, selectEntries, summarise } from '../../admin/dlq.js';
import type { DlqEntry, DlqFilter } from '../../admin/dlq.js';
import { loadConfig } from '../../config/index.js';
import { ProgressLine } from '../../observe/progress-line.js';
import type { Config } from '../../config/index.js';
import { describeError, StreamscoreError } from '../../errors/index.js';
import { buildRoles } from '../../pipeline/roles.js';
import type { Command, OptionSpec } from '../args.js';
import { intOption } from '../args.js';

const common: OptionSpec = {
  config: { type: 'string', short: 'c' },
  reason: { type: 'string' },
  source: { type: 'string' },
};
const commonHelp = {
  config: 'pipeline config (YAML/JSON): Kafka, registry, Redis, the dead-letter topic and the inputs',
  reason: 'only records with this reason code (e.g. SS_FIELD_RANGE; docs/errors.md)',
  source: 'only records dead-lettered from this input topic',
};

function filterOf(values: Record<string, unknown>): DlqFilter {
  const at = values.at as string | undefined;
  const coords = at?.split(',').map((s) => s.trim());
  if (coords?.some((c) => !/^\d+@\d+$/.test(c)))
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `--at takes partition@offset[,…] on the DLQ topic, got "${at}"`,
    );
  return {
    ...(values.reason === undefined ? {} : { reason: values.reason as string }),
    ...(values.source === undefined ? {} : { source: values.source as string }),
    ...(coords === undefined ? {} : { at: new Set(coords) }),
  };
}

async function entries(config: Readonly<Config>): Promise<DlqEntry[]> {
  const kafka = createKafkaClient(config.kafka);
  const progress = new ProgressLine(`reading ${config.outputs.dlq}`, undefined, { unit: 'offsets' });
  const read = await readDlq(
    kafka,
    config.outputs.dlq,
    `streamscore-dlq-tool-${randomUUID()}`,
    (passed, total) => progress.update(Number(passed), Number(total)),
  );
  progress.finish();
  return read;
}

const preview = (b: Buffer | null, n = 160): string => {
  if (b === null) return 'null';
  const t = b.toString('utf8');
  return /^[\x20-\x7e\s]*$/.test(t)
    ? JSON.stringify(t.slice(0, n))
    : `0x${b.subarray(0, n / 2).toString('hex')}`;
};

/** What the source topic's decoder makes of a sample now (decoding only: the contract is not applied). */
async function decodedView(
  config: Readonly<Config>,
  samples: readonly DlqEntry[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let roles;
  try {
    roles = buildRoles(config, createRegistryClient(config.registry), process.cwd());
  } catch (err) {
    for (const e of samples) out.set(coordOf(e), `(no decoder: ${describeError(err)})`);
    return out;
  }
  for (const e of samples) {
    const role = roles.get(e.source.topic);
    if (role === undefined) {
      out.set(coordOf(e), '(its source topic is not an input of this config)');
      continue;
    }
    try {
      const d = await role.decoder.decode({
        ...e.raw,
        topic: e.source.topic,
        partition: e.source.partition,
        offset: e.source.offset,
      });
      out.set(coordOf(e), JSON.stringify(d).slice(0, 400));
    } catch (err) {
      out.set(coordOf(e), `(does not decode: ${describeError(err)})`);
    }
  }
  return out;
}

export const dlqInspect: Command = {
  name: 'dlq inspect',
  usage: 'dlq inspect [--config file] [--reason CODE] [--source topic] [--samples N] [--json]',
  summary:
    'Count the dead-letter topic by reason and by source partition, and show sample records (decoded where the source decoder can).',
  options: { ...common, samples: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: {
    ...commonHelp,
    samples: 'sample records to show (default 5)',
    json: 'print one JSON document',
  },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    const samplesWanted = intOption(values, 'samples', 5);
    const picked = selectEntries(await entries(config), filterOf(values));
    const summary = summarise(picked);
    const samples = picked.slice(0, samplesWanted);
    const decoded = await decodedView(config, samples);
    const sampleViews = samples.map((e) => ({
      at: coordOf(e),
      reason: e.code,
      message: e.message,
      source: `${e.source.topic}/${e.source.partition}@${e.source.offset}`,
      batch: e.batchId,
      key: preview(e.raw.key, 60),
      value: preview(e.raw.value),
      decoded: decoded.get(coordOf(e)),
    }));
    if (values.json === true) {
      console.log(JSON.stringify({ topic: config.outputs.dlq, ...summary, samples: sampleViews }, null, 2));
      return 0;
    }
    console.log(`${config.outputs.dlq}: ${summary.total} record(s)`);
    console.log('\nby reason:');
    for (const [k, n] of summary.byReason) console.log(`  ${String(n).padStart(8)}  ${k}`);
    console.log('\nby source partition:');
    for (const [k, n] of summary.bySource) console.log(`  ${String(n).padStart(8)}  ${k}`);
    if (sampleViews.length > 0) console.log('\nsamples:');
    for (const s of sampleViews) {
      console.log(`  ${s.at}  ${s.reason}  from ${s.source}`);
      console.log(`    ${s.message}`);
      console.log(`    key ${s.key}  value ${s.value}`);
      console.log(`    decoded now: ${s.decoded ?? ''}`);
    }
    return 0;
  },
};

export const dlqReplay: Command = {
  name: 'dlq replay',
  usage: 'dlq replay [--config file] [--reason CODE] [--source topic] [--at p@o,…] [--dry-run] [--force]',
  summary:
    'Put selected dead-letter records back on their source topic and partition (original key, value and headers, plus ss.replay.of) after a fix; a ledger in Redis keeps any record from being replayed twice unless --force.',
  options: { ...common, at: { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' } },
  optionHelp: {
    ...commonHelp,
    at: 'only these records of the DLQ topic: partition@offset, comma-separated',
    'dry-run': 'report what would be replayed; send nothing, record nothing',
    force: 'replay records the ledger says were replayed already',
  },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    const picked = selectEntries(await entries(config), filterOf(values));
    const redis = createRedisStore(config.redis, 'streamscore-dlq-replay');
    const kafka = createKafkaClient(config.kafka);
    const producer = createPlainProducer(kafka);
    try {
      const result = await replayEntries(
        picked,
        {
          redis,
          producer,
          ledgerKey: `${config.redis.keyPrefix}dlq-replayed:${config.pipeline.name}:${config.outputs.dlq}`,
          dlqTopic: config.outputs.dlq,
          onProgress: (done, total) => console.error(`replayed ${done}/${total}`),
        },
        { dryRun: values['dry-run'] === true, force: values.force === true },
      );
      const verb = values['dry-run'] === true ? 'would replay' : 'replayed';
      const would = result.selected - result.alreadyReplayed;
      console.log(
        `${result.selected} selected; ${verb} ${values['dry-run'] === true ? would : result.replayed}; ${result.alreadyReplayed} replayed before (not sent again${values.force === true ? '' : '; --force sends them'})`,
      );
      if (result.unconfirmed.length > 0)
        console.log(
          `${result.unconfirmed.length} claimed by an earlier replay that did not confirm them (it stopped mid-way): check the source topic for ss.replay.of, then --at … --force: ${result.unconfirmed.join(', ')}`,
        );
      return 0;
    } finally {
      await producer.close();
      await redis.close();
    }
  },
};
