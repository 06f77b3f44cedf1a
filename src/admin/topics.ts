import { StreamscoreError } from '../errors/index.js';
import type { TopicAdmin } from '../adapters/kafka.js';
import { describeAction, planTopics } from './topic-plan.js';
import type { TopicAction } from './topic-plan.js';
import type { TopicSpec } from './topic-spec.js';
import { NO_REQUIREMENT } from './topic-env.js';
import type { DurabilityRequirement } from './topic-env.js';
import { BROKER_KEYS, checkDurability, describeFinding } from './topic-safety.js';
import type { SafetyFinding } from './topic-safety.js';

export async function planAgainstCluster(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
): Promise<TopicAction[]> {
  const state = await admin.describe(specs.map((s) => s.name));
  return planTopics(specs, state);
}

/**
 * The durability check of `specs` on this cluster (topic-safety.ts). Broker settings the principal may not
 * read leave the cluster-level checks out, with a warning saying so.
 */
export async function safetyAgainstCluster(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
  require: DurabilityRequirement = NO_REQUIREMENT,
): Promise<SafetyFinding[]> {
  const broker = await admin.brokerFacts(BROKER_KEYS).catch((err: Error) => err);
  if (broker instanceof Error)
    return [
      ...checkDurability(specs, require, null),
      {
        level: 'warn',
        subject: '(cluster)',
        reason: `broker settings not readable (${broker.message}): the broker-level checks were skipped; grant DescribeConfigs on the cluster to run them`,
      },
    ];
  return checkDurability(specs, require, broker);
}

export interface ApplyResult {
  readonly applied: readonly TopicAction[];
}

/**
 * Applies a plan. Dangerous actions refuse the whole apply (nothing is changed) unless `force`; even
 * forced, a replication-factor change is refused because apply cannot do it safely. Specs that would make
 * exactly-once unsafe (safetyAgainstCluster) refuse it too, and --force does not override that.
 */
export async function applyTopics(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
  opts: {
    force: boolean;
    /** Called as each change starts (1-based step of `total`), for a progress display. */
    onStep?: (step: number, total: number, action: TopicAction) => void;
    /** What the environment's durability demands (its overlay's `require`). */
    require?: DurabilityRequirement;
  },
): Promise<ApplyResult> {
  const unsafe = (await safetyAgainstCluster(admin, specs, opts.require)).filter((f) => f.level === 'refuse');
  if (unsafe.length > 0) {
    throw new StreamscoreError(
      'SS_TOPIC_UNSAFE',
      `refusing to apply (nothing was changed): these specs would make exactly-once unsafe:\n  ${unsafe.map(describeFinding).join('\n  ')}`,
    );
  }
  const actions = await planAgainstCluster(admin, specs);
  const dangerous = actions.filter((a) => a.kind === 'dangerous');
  const blocked = dangerous.filter((a) => !opts.force || a.forced === 'none');
  if (blocked.length > 0) {
    throw new StreamscoreError(
      'SS_TOPIC_DANGEROUS_CHANGE',
      `refusing to apply (nothing was changed):\n  ${blocked.map(describeAction).join('\n  ')}${
        opts.force ? '' : '\n  re-run with --force to accept the changes that --force allows'
      }`,
    );
  }
  for (const [i, a] of actions.entries()) {
    opts.onStep?.(i + 1, actions.length, a);
    switch (a.kind) {
      case 'create':
        await admin.create(a.topic);
        break;
      case 'add-partitions':
        await admin.addPartitions(a.topic, a.to);
        break;
      case 'alter-config':
        await admin.setConfig(a.topic, a.desired);
        break;
      case 'dangerous':
        if (a.forced === 'recreate') {
          await admin.delete(a.topic);
          await waitUntilGone(admin, a.topic);
          await admin.create(a.spec);
        } else if (a.forced === 'alter-config') {
          await admin.setConfig(a.topic, a.spec.config);
        }
        break;
    }
  }
  return { applied: actions };
}

async function waitUntilGone(admin: TopicAdmin, topic: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await admin.describe([topic])).size === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
