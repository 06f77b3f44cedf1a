import { loadConfig } from '../../config/index.js';
import { connectTopicAdmin, createKafkaClient } from '../../adapters/kafka.js';
import { applyTopics, planAgainstCluster } from '../../admin/topics.js';
import { describeAction } from '../../admin/topic-plan.js';
import { loadTopicSpecs } from '../../admin/topic-spec.js';
import type { Command, OptionSpec } from '../args.js';

const common: OptionSpec = {
  config: { type: 'string', short: 'c' },
  dir: { type: 'string' },
  prefix: { type: 'string' },
};
const commonHelp = {
  config: 'config file (YAML/JSON) for the Kafka connection; default: built-in defaults + STREAMSCORE_* env',
  dir: 'folder of topic family files (default: topics)',
  prefix: 'prefix every topic name (e.g. "staging." or a per-test prefix)',
};

async function withAdmin<T>(
  values: Record<string, unknown>,
  fn: (admin: Awaited<ReturnType<typeof connectTopicAdmin>>) => Promise<T>,
): Promise<T> {
  const config = loadConfig(values.config as string | undefined);
  const admin = await connectTopicAdmin(createKafkaClient(config.kafka));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

function specsOf(values: Record<string, unknown>) {
  return loadTopicSpecs(
    (values.dir as string | undefined) ?? 'topics',
    (values.prefix as string | undefined) ?? '',
  ).flatMap((f) => f.topics);
}

export const topicsPlan: Command = {
  name: 'topics plan',
  usage: 'topics plan [--config file] [--dir topics] [--prefix p]',
  summary:
    'Print the difference between the topic files and the cluster. Exit 0 when in sync, 1 when changes are pending.',
  options: common,
  optionHelp: commonHelp,
  async run(values) {
    const specs = specsOf(values);
    const actions = await withAdmin(values, (admin) => planAgainstCluster(admin, specs));
    if (actions.length === 0) {
      console.log(`in sync: ${specs.length} topics match their specs`);
      return 0;
    }
    for (const a of actions) console.log(describeAction(a));
    return 1;
  },
};

export const topicsApply: Command = {
  name: 'topics apply',
  usage: 'topics apply [--config file] [--dir topics] [--prefix p] [--force]',
  summary:
    'Create missing topics, raise partition counts and set configs. Refuses dangerous changes (fewer partitions, cleanup.policy change of a non-empty topic) unless --force.',
  options: { ...common, force: { type: 'boolean' } },
  optionHelp: {
    ...commonHelp,
    force:
      'accept dangerous changes: recreate a topic to shrink it (DATA LOSS), change cleanup.policy of a non-empty topic',
  },
  async run(values) {
    const specs = specsOf(values);
    // progress on stderr, one line per change as it starts (stdout keeps the summary for scripts)
    const result = await withAdmin(values, (admin) =>
      applyTopics(admin, specs, {
        force: values.force === true,
        onStep: (step, total, a) => console.error(`[${step}/${total}] ${describeAction(a)} …`),
      }),
    );
    if (result.applied.length === 0)
      console.log(`nothing to change: ${specs.length} topics match their specs`);
    for (const a of result.applied) console.log(`applied ${describeAction(a)}`);
    return 0;
  },
};
