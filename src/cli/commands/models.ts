import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { readToEnd } from '../../adapters/kafka-replay.js';
import { createKafkaClient } from '../../adapters/kafka.js';
import { createRegistryClient } from '../../adapters/registry.js';
import { auditReader } from '../../emit/audit-reader.js';
import { StreamscoreError } from '../../errors/index.js';
import { loadConfig } from '../../config/index.js';
import type { Config } from '../../config/index.js';
import { ProgressLine } from '../../observe/progress-line.js';
import { compareChallengers, formatComparison, modelAdmin } from '../../lifecycle/index.js';
import type { ModelAdmin, ModelPromotion } from '../../lifecycle/index.js';
import type { Command } from '../args.js';

const configOption = { config: { type: 'string', short: 'c' } } as const;
const configHelp = {
  config: 'pipeline config (YAML/JSON): the model store (model.dir, model.name), Kafka and the control topic',
};
const recordOptions = {
  ...configOption,
  alias: { type: 'string' },
  by: { type: 'string' },
  reason: { type: 'string' },
  json: { type: 'boolean' },
} as const;
const recordHelp = {
  ...configHelp,
  alias: 'the alias to move (default: model.alias of the config, else champion)',
  by: 'who gives the command (default: the OS user)',
  reason: 'why (required: it goes on the record)',
  json: 'print the control record as JSON',
};

async function withAdmin(
  values: Record<string, unknown>,
  f: (a: ModelAdmin, c: Readonly<Config>) => Promise<number>,
) {
  const config = loadConfig(values.config as string | undefined);
  const admin = modelAdmin(config);
  try {
    return await f(admin, config);
  } finally {
    await admin.close();
  }
}

function printRecord(p: ModelPromotion, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(p, null, 2));
    return;
  }
  console.log(
    `${p.model} ${p.alias}: ${p.from ?? '(none)'} → ${p.to} (sha256 ${p.sha256.slice(0, 16)}…) by ${p.by} at ${p.at}: ${p.reason}`,
  );
  console.log(
    'every instance following the alias switches at each partition’s next window (or refuses it: see its log and streamscore_model_refused)',
  );
}

function recordRequest(values: Record<string, unknown>, config: Readonly<Config>) {
  return {
    alias: (values.alias as string | undefined) ?? config.model.alias ?? 'champion',
    by: (values.by as string | undefined) ?? userInfo().username,
    reason: (values.reason as string | undefined) ?? '',
  };
}

export const modelsList: Command = {
  name: 'models list',
  usage: 'models list [--config file] [--json]',
  summary: 'List the versions in the model store and what each alias names (from the control topic).',
  options: { ...configOption, json: { type: 'boolean' } },
  optionHelp: { ...configHelp, json: 'print one JSON document' },
  async run(values) {
    return withAdmin(values, async (admin, config) => {
      const { versions, aliases, invalid } = await admin.list();
      if (values.json === true) {
        console.log(JSON.stringify({ model: config.model.name, versions, aliases, invalid }, null, 2));
        return 0;
      }
      const named = new Map<string, string[]>();
      for (const a of aliases) named.set(a.to, [...(named.get(a.to) ?? []), a.alias]);
      console.log(`${config.model.name} in ${config.model.dir} (pinned default: ${config.model.version})`);
      for (const v of versions) {
        const tags = named.get(v.version)?.join(', ') ?? '';
        const what =
          v.problem === undefined
            ? `${v.featureVersion ?? '?'}  width ${v.width ?? '?'}  holdout AUC ${v.holdoutAuc?.toFixed(4) ?? '?'}  trained ${v.trainedAt ?? '?'}  sha256 ${v.sha256?.slice(0, 12) ?? '?'}…`
            : `unreadable: ${v.problem}`;
        console.log(`  ${v.version.padEnd(6)} ${tags.padEnd(22)} ${what}`);
      }
      for (const a of aliases)
        console.log(
          `alias ${a.alias} → ${a.to} (from ${a.from ?? '(none)'}, by ${a.by} at ${a.at}: ${a.reason})`,
        );
      for (const i of invalid) console.log(`unreadable control record: ${i}`);
      return 0;
    });
  },
};

export const modelsShow: Command = {
  name: 'models show',
  usage: 'models show <version> [--config file]',
  summary: 'Show one version of the model store: feature spec, width, holdout metrics, sha256.',
  options: configOption,
  optionHelp: configHelp,
  positionals: { min: 1, max: 1, names: '<version>' },
  async run(values, positionals) {
    return withAdmin(values, async (admin) => {
      console.log(JSON.stringify(await admin.show(positionals[0] as string), null, 2));
      return 0;
    });
  },
};

export const modelsPromote: Command = {
  name: 'models promote',
  usage: 'models promote <version> --reason text [--alias champion] [--by who] [--force] [--config file]',
  summary:
    'Point an alias at a version: the version must load (sha256, ONNX signature) and fit what the alias names now (feature state, width, output semantics); the promotion is a record on the control topic. Exit 1 when refused.',
  options: { ...recordOptions, force: { type: 'boolean' } },
  optionHelp: {
    ...recordHelp,
    force:
      'write it even when it does not fit the current target (instances still refuse what they cannot serve)',
  },
  positionals: { min: 1, max: 1, names: '<version>' },
  async run(values, positionals) {
    return withAdmin(values, async (admin, config) => {
      const p = await admin.promote({
        ...recordRequest(values, config),
        to: positionals[0] as string,
        force: values.force === true,
      });
      printRecord(p, values.json === true);
      return 0;
    });
  },
};

export const modelsRollback: Command = {
  name: 'models rollback',
  usage: 'models rollback --reason text [--alias champion] [--by who] [--config file]',
  summary: 'Point an alias back at the version its last promotion replaced (checked like a promotion).',
  options: recordOptions,
  optionHelp: recordHelp,
  async run(values) {
    return withAdmin(values, async (admin, config) => {
      printRecord(await admin.rollback(recordRequest(values, config)), values.json === true);
      return 0;
    });
  },
};

export const modelsCompare: Command = {
  name: 'models compare',
  usage: 'models compare [--since ISO-time] [--config file] [--json]',
  summary:
    'Champion vs challenger from the audit events: mean score difference, tier agreement, rank correlation and the share of decisions that would change, per pair of versions.',
  options: { ...configOption, since: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: {
    ...configHelp,
    since: 'only windows closed at or after this time (ISO-8601, e.g. 2026-12-01T00:00:00Z)',
    json: 'print one JSON document',
  },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    const sinceText = values.since as string | undefined;
    const since = sinceText === undefined ? 0 : Date.parse(sinceText);
    if (Number.isNaN(since))
      throw new StreamscoreError('SS_CLI_USAGE', `--since: "${sinceText}" is not an ISO-8601 time`);
    const read = auditReader(createRegistryClient(config.registry));
    const progress = new ProgressLine(`reading ${config.outputs.audit}`, undefined, { unit: 'offsets' });
    const { records: raw } = await readToEnd(
      createKafkaClient(config.kafka),
      config.outputs.audit,
      `streamscore-compare-${randomUUID()}`,
      { onProgress: (passed, total) => progress.update(Number(passed), Number(total)) },
    );
    progress.finish();
    const audits = await Promise.all(raw.filter((r) => r.value !== null).map((r) => read(r.value as Buffer)));
    const rows = compareChallengers(audits, since);
    console.log(values.json === true ? JSON.stringify(rows, null, 2) : formatComparison(rows));
    return 0;
  },
};
