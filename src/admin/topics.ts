import { StreamscoreError } from '../errors/index.js';
import type { TopicAdmin } from '../adapters/kafka.js';
import { describeAction, planTopics } from './topic-plan.js';
import type { TopicAction } from './topic-plan.js';
import type { TopicSpec } from './topic-spec.js';

export async function planAgainstCluster(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
): Promise<TopicAction[]> {
  const state = await admin.describe(specs.map((s) => s.name));
  return planTopics(specs, state);
}

export interface ApplyResult {
  readonly applied: readonly TopicAction[];
}

/**
 * Applies a plan. Dangerous actions refuse the whole apply (nothing is changed) unless `force`; even
 * forced, a replication-factor change is refused because apply cannot do it safely.
 */
export async function applyTopics(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
  opts: {
    force: boolean;
    /** Called as each change starts (1-based step of `total`), for a progress display. */
    onStep?: (step: number, total: number, action: TopicAction) => void;
  },
): Promise<ApplyResult> {
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
