import type { TopicSpec } from './topic-spec.js';

/** What the cluster holds for one topic, as far as the plan needs it. */
export interface TopicState {
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Only configs explicitly set on the topic (not broker defaults). */
  readonly config: Readonly<Record<string, string>>;
  readonly empty: boolean;
}

export type TopicAction =
  | { readonly kind: 'create'; readonly topic: TopicSpec }
  | { readonly kind: 'add-partitions'; readonly topic: string; readonly from: number; readonly to: number }
  | {
      readonly kind: 'alter-config';
      readonly topic: string;
      readonly desired: Readonly<Record<string, string>>;
      readonly changes: ReadonlyArray<{ key: string; from: string | undefined; to: string | undefined }>;
    }
  | {
      readonly kind: 'dangerous';
      readonly topic: string;
      readonly reason: string;
      /** What --force does about it. */
      readonly forced: 'recreate' | 'alter-config' | 'none';
      readonly spec: TopicSpec;
    };

/** Pure: compares desired specs with the cluster state and lists what apply would do. */
export function planTopics(
  specs: readonly TopicSpec[],
  cluster: ReadonlyMap<string, TopicState>,
): TopicAction[] {
  const actions: TopicAction[] = [];
  for (const spec of specs) {
    const state = cluster.get(spec.name);
    if (state === undefined) {
      actions.push({ kind: 'create', topic: spec });
      continue;
    }
    if (spec.partitions < state.partitions) {
      actions.push({
        kind: 'dangerous',
        topic: spec.name,
        reason: `has ${state.partitions} partitions, spec asks for ${spec.partitions}: Kafka cannot remove partitions; --force deletes and recreates the topic, losing its data`,
        forced: 'recreate',
        spec,
      });
      continue;
    }
    if (spec.replicationFactor !== state.replicationFactor) {
      actions.push({
        kind: 'dangerous',
        topic: spec.name,
        reason: `replication factor is ${state.replicationFactor}, spec asks for ${spec.replicationFactor}: change it with a partition reassignment (kafka-reassign-partitions), not with apply`,
        forced: 'none',
        spec,
      });
    }
    if (spec.partitions > state.partitions) {
      actions.push({ kind: 'add-partitions', topic: spec.name, from: state.partitions, to: spec.partitions });
    }
    const keys = new Set([...Object.keys(spec.config), ...Object.keys(state.config)]);
    const changes = [...keys]
      .sort()
      .map((key) => ({ key, from: state.config[key], to: spec.config[key] }))
      .filter((c) => c.from !== c.to);
    if (changes.length === 0) continue;
    const policy = changes.find((c) => c.key === 'cleanup.policy');
    if (policy !== undefined && !state.empty) {
      actions.push({
        kind: 'dangerous',
        topic: spec.name,
        reason: `cleanup.policy would change from ${policy.from ?? '(default)'} to ${policy.to ?? '(default)'} on a non-empty topic: compaction would delete records (or stop compacting); use --force if that is intended`,
        forced: 'alter-config',
        spec,
      });
      continue;
    }
    actions.push({ kind: 'alter-config', topic: spec.name, desired: spec.config, changes });
  }
  return actions;
}

export function describeAction(a: TopicAction): string {
  switch (a.kind) {
    case 'create':
      return `+ create ${a.topic.name} (partitions=${a.topic.partitions}, rf=${a.topic.replicationFactor}${Object.entries(
        a.topic.config,
      )
        .map(([k, v]) => `, ${k}=${v}`)
        .join('')})`;
    case 'add-partitions':
      return `~ ${a.topic}: partitions ${a.from} -> ${a.to}`;
    case 'alter-config':
      return `~ ${a.topic}: ${a.changes.map((c) => `${c.key} ${c.from ?? '(default)'} -> ${c.to ?? '(default)'}`).join(', ')}`;
    case 'dangerous':
      return `! ${a.topic}: ${a.reason}`;
  }
}
