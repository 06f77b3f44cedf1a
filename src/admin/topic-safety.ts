import type { DurabilityRequirement } from './topic-env.js';
import type { TopicSpec } from './topic-spec.js';

/**
 * Whether the topic specs (after any environment overlay) keep the exactly-once contract durable.
 *
 * streamscore's producers always write with acks=all (idempotent, transactional; not configurable), so what
 * decides whether an acknowledged write — a committed transaction with its outputs and input offsets — can
 * be lost is the replication the topics and the broker give it:
 * - `min.insync.replicas` above the replication factor: no acks=all write can ever succeed (the pipeline
 *   would stall on NOT_ENOUGH_REPLICAS from its first window).
 * - more than one replica but `min.insync.replicas` 1: acks=all is then satisfied by the leader alone; when
 *   it dies before a follower caught up, committed output and committed offsets disappear.
 * - `unclean.leader.election.enable`: a replica that was out of sync may become leader and drop committed
 *   records.
 * - the broker's transaction log and offsets topic less replicated than the data: the coordinator's record
 *   of a commit, or the committed offsets (the high-water mark), can be lost while the outputs survive.
 * `min.insync.replicas` equal to the replication factor (above 1) is safe but stops every write while any
 * one replica is down: a warning, not a refusal.
 */
export interface BrokerFacts {
  readonly brokers: number;
  /** Broker-level values of the configs below (as the broker reports them, defaults included). */
  readonly config: Readonly<Record<string, string>>;
}

export const BROKER_KEYS = [
  'min.insync.replicas',
  'unclean.leader.election.enable',
  'transaction.state.log.replication.factor',
  'transaction.state.log.min.isr',
  'offsets.topic.replication.factor',
] as const;

export interface SafetyFinding {
  readonly level: 'refuse' | 'warn';
  /** A topic name, or "(cluster)" for a broker setting. */
  readonly subject: string;
  readonly reason: string;
}

const num = (v: string | undefined, fallback: number): number => {
  const n = Number(v);
  return v === undefined || !Number.isFinite(n) ? fallback : n;
};

/** Pure: every refusal and warning for `specs` under `require`, on a cluster described by `broker` if known. */
export function checkDurability(
  specs: readonly TopicSpec[],
  require: DurabilityRequirement,
  broker: BrokerFacts | null,
): SafetyFinding[] {
  const out: SafetyFinding[] = [];
  const b = broker?.config ?? {};
  for (const s of specs) {
    const rf = s.replicationFactor;
    const isrText = s.config['min.insync.replicas'] ?? b['min.insync.replicas'];
    const isr = num(isrText, 1);
    const from = s.config['min.insync.replicas'] === undefined ? ' (the broker default)' : '';
    if (rf < require.minReplicationFactor)
      out.push({
        level: 'refuse',
        subject: s.name,
        reason: `replication factor ${rf} is below the ${require.minReplicationFactor} this environment requires (require.minReplicationFactor); set replicationFactor: ${require.minReplicationFactor} in the overlay`,
      });
    if (isr > rf)
      out.push({
        level: 'refuse',
        subject: s.name,
        reason: `min.insync.replicas ${isr}${from} exceeds the replication factor ${rf}: no acks=all write can succeed; set min.insync.replicas to at most ${rf} (${rf >= 3 ? rf - 1 : rf} recommended)`,
      });
    else if (rf >= 2 && isr < 2)
      out.push({
        level: 'refuse',
        subject: s.name,
        reason: `${rf} replicas but min.insync.replicas ${isr}${from}: acks=all is then met by the leader alone, and its failure can lose committed output and offsets; set min.insync.replicas: '2'`,
      });
    else if (rf >= 2 && isr === rf)
      out.push({
        level: 'warn',
        subject: s.name,
        reason: `min.insync.replicas equals the replication factor (${rf}): safe, but any one replica down stops every write to it; ${rf >= 3 ? `min.insync.replicas ${rf - 1} keeps writing through one failure` : 'use 3 replicas with min.insync.replicas 2'}`,
      });
    const unclean = s.config['unclean.leader.election.enable'] ?? b['unclean.leader.election.enable'];
    if (unclean === 'true')
      out.push({
        level: 'refuse',
        subject: s.name,
        reason: `unclean.leader.election.enable is true${s.config['unclean.leader.election.enable'] === undefined ? ' (the broker default)' : ''}: an out-of-sync replica may become leader and drop committed records; set it to false`,
      });
    if (broker !== null && broker.brokers < rf)
      out.push({
        level: 'refuse',
        subject: s.name,
        reason: `replication factor ${rf} needs ${rf} brokers; the cluster has ${broker.brokers}`,
      });
  }
  if (broker !== null) {
    if (broker.brokers < require.minBrokers)
      out.push({
        level: 'refuse',
        subject: '(cluster)',
        reason: `this environment requires at least ${require.minBrokers} brokers (require.minBrokers); the cluster has ${broker.brokers}`,
      });
    const maxRf = Math.max(1, ...specs.map((s) => s.replicationFactor));
    if (maxRf >= 2) {
      const internal: Array<[string, number, string]> = [
        ['transaction.state.log.replication.factor', 2, 'the transaction coordinator’s log'],
        ['transaction.state.log.min.isr', 2, 'the transaction coordinator’s log'],
        ['offsets.topic.replication.factor', 2, 'the committed offsets (the high-water mark)'],
      ];
      for (const [key, min, what] of internal) {
        const v = b[key];
        if (v !== undefined && num(v, min) < min)
          out.push({
            level: 'refuse',
            subject: '(cluster)',
            reason: `broker ${key} is ${v} while topics have ${maxRf} replicas: ${what} would be less durable than the outputs; set ${key}=${key.endsWith('min.isr') ? 2 : Math.min(3, maxRf)} on the brokers`,
          });
      }
    }
  }
  return out;
}

export function describeFinding(f: SafetyFinding): string {
  return `${f.level === 'refuse' ? '! unsafe' : '? warning'} ${f.subject}: ${f.reason}`;
}
