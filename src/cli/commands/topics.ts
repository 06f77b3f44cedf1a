import { loadConfig } from '../../config/index.js';
import { connectTopicAdmin, createKafkaClient } from '../../adapters/kafka.js';
import { applyTopics, planAgainstCluster, safetyAgainstCluster } from '../../admin/topics.js';
import { describeAction } from '../../admin/topic-plan.js';
import { loadEnvironmentSpecs } from '../../admin/topic-env.js';
import { describeFinding } from '../../admin/topic-safety.js';
import type { Command, OptionSpec } from '../args.js';

const common: OptionSpec = {
  config: { type: 'string', short: 'c' },
  dir: { type: 'string' },
  prefix: { type: 'string' },
  env: { type: 'string' },
};
const commonHelp = {
  config: 'config file (YAML/JSON) for the Kafka connection; default: built-in defaults + STREAMSCORE_* env',
  dir: 'folder of topic family files (default: topics)',
  prefix: 'prefix every topic name (e.g. "staging." or a per-test prefix)',
  env: 'environment overlay <dir>/env/<env>.yaml (partitions, replication, configs and durability requirements of that environment, e.g. production)',
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

function specsOf(values: Record<string, unknown>): ReturnType<typeof loadEnvironmentSpecs> {
  return loadEnvironmentSpecs(
    (values.dir as string | undefined) ?? 'topics',
    (values.prefix as string | undefined) ?? '',
    values.env as string | undefined,
  );
}

export const topicsPlan: Command = {
  name: 'topics plan',
  usage: 'topics plan [--config file] [--dir topics] [--prefix p] [--env name]',
  summary:
    'Print the difference between the topic files and the cluster, and any spec that would make exactly-once unsafe. Exit 0 when in sync and safe, 1 when changes are pending or a spec is unsafe.',
  options: common,
  optionHelp: commonHelp,
  async run(values) {
    const { specs, require } = specsOf(values);
    const [actions, findings] = await withAdmin(values, async (admin) => [
      await planAgainstCluster(admin, specs),
      await safetyAgainstCluster(admin, specs, require),
    ]);
    for (const f of findings) console.log(describeFinding(f));
    const unsafe = findings.some((f) => f.level === 'refuse');
    if (actions.length === 0) {
      console.log(
        `in sync: ${specs.length} topics match their specs${unsafe ? ' (but see the unsafe lines above)' : ''}`,
      );
      return unsafe ? 1 : 0;
    }
    for (const a of actions) console.log(describeAction(a));
    return 1;
  },
};

export const topicsApply: Command = {
  name: 'topics apply',
  usage: 'topics apply [--config file] [--dir topics] [--prefix p] [--env name] [--force]',
  summary:
    'Create missing topics, raise partition counts and set configs. Refuses dangerous changes (fewer partitions, cleanup.policy change of a non-empty topic) unless --force, and specs that would make exactly-once unsafe (replication, min.insync.replicas, unclean leader election) always.',
  options: { ...common, force: { type: 'boolean' } },
  optionHelp: {
    ...commonHelp,
    force:
      'accept dangerous changes: recreate a topic to shrink it (DATA LOSS), change cleanup.policy of a non-empty topic',
  },
  async run(values) {
    const { specs, require } = specsOf(values);
    // progress on stderr, one line per change as it starts (stdout keeps the summary for scripts)
    const result = await withAdmin(values, (admin) =>
      applyTopics(admin, specs, {
        force: values.force === true,
        require,
        onStep: (step, total, a) => console.error(`[${step}/${total}] ${describeAction(a)} …`),
      }),
    );
    if (result.applied.length === 0)
      console.log(`nothing to change: ${specs.length} topics match their specs`);
    for (const a of result.applied) console.log(`applied ${describeAction(a)}`);
    return 0;
  },
};
