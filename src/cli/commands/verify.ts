import { createKafkaClient } from '../../adapters/kafka.js';
import { createRegistryClient } from '../../adapters/registry.js';
import { ModelsBySha, predictionsOf, readAudits, verifyBatch } from '../../admin/verify.js';
import { verifyDeep } from '../../admin/verify-deep.js';
import type { DeepResult } from '../../admin/verify-deep.js';
import type { BatchVerdict, VerifyDeps } from '../../admin/verify.js';
import { loadConfig } from '../../config/index.js';
import { auditReader, predictionReader } from '../../emit/audit-reader.js';
import type { AuditEventV1 } from '../../emit/index.js';
import { StreamscoreError } from '../../errors/index.js';
import { lookupClientFor } from '../../lookup/index.js';
import { ProgressLine } from '../../observe/progress-line.js';
import { buildRoles } from '../../pipeline/roles.js';
import { servedModel } from '../../rescore/model.js';
import { Random } from '../../sample/random.js';
import type { Command } from '../args.js';

function timeOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `--${name}: "${text}" is not an ISO-8601 time (e.g. 2026-12-01T00:00:00Z)`,
    );
  return t;
}

export const verify: Command = {
  name: 'verify',
  usage:
    'verify <batch-id>... | --sample N [--since ISO] [--until ISO] [--seed n] [--deep] [--config file] [--json]',
  summary:
    "Show a committed window again: re-read its input records at the audited offsets and check the audit's input hash, re-score every prediction of the batch from its recorded vector with the model of its recorded sha256 (bit for bit), and compare Redis where it still holds the batch's prediction; with --deep, also rebuild from the input log the feature state each prediction was computed from and check its vector. Exit 1 on any mismatch, naming it.",
  options: {
    config: { type: 'string', short: 'c' },
    sample: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    seed: { type: 'string' },
    deep: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    config: 'pipeline config (YAML/JSON): Kafka, registry, Redis, topics, model directory',
    sample: 'verify N batches drawn at random from the audit topic (all of them when there are fewer)',
    since: 'with --sample: only windows closed at or after this time',
    until: 'with --sample: only windows closed before this time',
    seed: 'with --sample: the draw (default: random)',
    deep: "also rebuild each prediction's feature state from the input log (up to its recorded basis) and compare the vectors; reads the input partitions from their start",
    json: 'print one JSON document with a verdict per batch',
  },
  positionals: { min: 0, max: 1000, names: '<batch-id>...' },
  async run(values, positionals) {
    const config = loadConfig(values.config as string | undefined);
    const sampleText = values.sample as string | undefined;
    const sample = sampleText === undefined ? undefined : Number(sampleText);
    if (sample !== undefined && (!Number.isInteger(sample) || sample < 1))
      throw new StreamscoreError('SS_CLI_USAGE', `--sample must be a whole number >= 1, got "${sampleText}"`);
    if ((sample === undefined) === (positionals.length === 0))
      throw new StreamscoreError('SS_CLI_USAGE', 'give batch ids or --sample N (one of the two)');
    if (
      sample === undefined &&
      (values.since !== undefined || values.until !== undefined || values.seed !== undefined)
    )
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        '--since, --until and --seed go with --sample, not with batch ids',
      );
    const seedText = values.seed as string | undefined;
    if (seedText !== undefined && !/^\d+$/.test(seedText))
      throw new StreamscoreError('SS_CLI_USAGE', `--seed must be a whole number >= 0, got "${seedText}"`);
    const since = timeOption('since', values.since as string | undefined) ?? -Infinity;
    const until = timeOption('until', values.until as string | undefined) ?? Infinity;

    const registry = createRegistryClient(config.registry);
    const lookup = lookupClientFor(config);
    const progress = new Map<string, ProgressLine>();
    const deps: VerifyDeps = {
      kafka: createKafkaClient(config.kafka),
      readAudit: auditReader(registry),
      readPrediction: predictionReader(registry),
      stored: async (id) => {
        const p = await lookup.get(id);
        return p === null ? null : { version: p.version, score: p.score, features: p.features };
      },
      modelDir: config.model.dir,
      modelName: config.model.name,
      onProgress: (what, done, total) => {
        let line = progress.get(what);
        if (line === undefined)
          progress.set(what, (line = new ProgressLine(what, total, { unit: 'offsets' })));
        line.update(done, total);
      },
    };
    const models = new ModelsBySha(config.model.dir, config.model.name);
    const started = performance.now();
    try {
      const audits = await readAudits(deps, config.outputs.audit);
      let chosen: AuditEventV1[];
      if (sample === undefined) {
        const wanted = new Set(positionals);
        chosen = audits.filter((a) => wanted.has(a.batch_id));
        const missing = [...wanted].filter((id) => !chosen.some((a) => a.batch_id === id));
        if (missing.length > 0) {
          console.error(`no committed window with batch id ${missing.join(', ')} on ${config.outputs.audit}`);
          return 1;
        }
      } else {
        const inRange = audits.filter((a) => a.closed_at >= since && a.closed_at < until);
        const rng = new Random(seedText === undefined ? Date.now() % 2 ** 31 : Number(seedText));
        for (let i = inRange.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [inRange[i], inRange[j]] = [
            inRange[j] as (typeof inRange)[number],
            inRange[i] as (typeof inRange)[number],
          ];
        }
        chosen = inRange.slice(0, sample);
      }
      for (const line of progress.values()) line.finish();
      progress.clear();
      const predictions = await predictionsOf(
        deps,
        config.outputs.predictions,
        new Set(chosen.map((a) => a.batch_id)),
      );
      for (const line of progress.values()) line.finish();
      progress.clear();
      const verdicts: BatchVerdict[] = [];
      const line = new ProgressLine('verifying', chosen.length, { unit: 'batches' });
      for (const a of chosen) {
        verdicts.push(await verifyBatch(deps, a, predictions.get(a.batch_id) ?? [], models));
        line.update(verdicts.length);
      }
      line.finish();
      let deep: DeepResult | null = null;
      if (values.deep === true) {
        const served = await servedModel(config, deps.kafka, process.cwd());
        try {
          deep = await verifyDeep(
            {
              kafka: deps.kafka,
              roles: buildRoles(config, registry, process.cwd(), served.kept.profile),
              kept: served.kept,
              onProgress: deps.onProgress,
            },
            audits.filter((a) => a.pipeline === config.pipeline.name),
            chosen.flatMap((a) =>
              (predictions.get(a.batch_id) ?? []).map((p) => ({ batchId: a.batch_id, ...p })),
            ),
            models,
          );
        } finally {
          await served.close();
        }
        for (const l of progress.values()) l.finish();
        const found = deep.problems;
        verdicts.forEach((v, i) => {
          const more = found.get(v.batchId);
          if (more !== undefined) verdicts[i] = { ...v, problems: [...v.problems, ...more] };
        });
      }
      const seconds = (performance.now() - started) / 1000;
      const failed = verdicts.filter((v) => v.problems.length > 0);
      if (values.json === true) {
        console.log(
          JSON.stringify(
            {
              verified: verdicts.length - failed.length,
              failed: failed.length,
              ...(deep === null ? {} : { rebuilt: deep.rebuilt, no_basis: deep.noBasis }),
              verdicts,
            },
            null,
            2,
          ),
        );
      } else {
        for (const v of failed) {
          console.log(`MISMATCH ${v.batchId}`);
          for (const p of v.problems) console.log(`  ${p}`);
        }
        const records = verdicts.reduce((n, v) => n + v.records, 0);
        const preds = verdicts.reduce((n, v) => n + v.predictions, 0);
        const redis = verdicts.reduce((n, v) => n + v.redisChecked, 0);
        console.log(
          `${verdicts.length - failed.length} of ${verdicts.length} batches verified (${records} input records, ${preds} predictions re-scored, ${redis} Redis entries compared${deep === null ? '' : `, ${deep.rebuilt} states rebuilt from the log`}) in ${seconds.toFixed(1)} s`,
        );
        if (deep !== null && deep.noBasis > 0)
          console.log(
            `${deep.noBasis} predictions carry no basis (written before schema_version 4): their states were not rebuilt`,
          );
      }
      return failed.length === 0 ? 0 : 1;
    } finally {
      await models.close();
      await lookup.close();
    }
  },
};
