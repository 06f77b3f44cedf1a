import type { TransactionalProducer, TopicPartition } from '../adapters/kafka-io.js';
import type { CrashPointName } from '../commit/index.js';
import type { Config } from '../config/index.js';
import type { RecordDecoder } from '../decode/types.js';
import type { AuditEventV1, AvroEncoder, PredictionEventV1, PredictionEventWriter } from '../emit/index.js';
import type { FeatureSpec } from '../features/index.js';
import type { Logger } from '../observe/logger.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import type { Scorer } from '../score/index.js';
import type { ModelStamp, RedisSink, StateFields } from '../sink/index.js';
import type { RecordCheck, RejectionGate } from '../validate/index.js';
import type { DriftMonitor } from '../drift/index.js';
import type { ScoreJumps } from '../guard/index.js';
import type { ModelSlot, Reconciler, ServingModel } from '../lifecycle/index.js';
import type { Explainer } from '../explain/index.js';

export interface InputRole {
  readonly kind: 'cdc' | 'events';
  readonly decoder: RecordDecoder;
  readonly onTruncate: 'dlq' | 'skip';
  /** The topic's input contract, compiled (see validate/). */
  readonly check: RecordCheck;
}

/** Everything a window needs that outlives it (shared by all windows of the process). */
export interface PipelineContext {
  readonly config: Readonly<Config>;
  readonly instance: string;
  readonly roles: ReadonlyMap<string, InputRole>;
  readonly sink: RedisSink;
  /** What the entity state keeps of rows and events (what the feature spec reads), and for how long. */
  readonly fields: StateFields;
  /** The served model and its switch at a window boundary; the four fields below read its current one. */
  readonly models: ModelSlot;
  /** Where this instance follows the control topic from (what it read at start). */
  readonly controlEnds: ReadonlyMap<number, bigint>;
  readonly scorer: Scorer;
  readonly featureSpec: FeatureSpec;
  readonly model: ModelStamp;
  /** Reason codes of the current model's predictions; null when reasons.topK is 0. */
  readonly explainer: Explainer | null;
  readonly predictionEncoder: AvroEncoder<PredictionEventV1>;
  /** The same events' bytes written straight from a window's predictions (predictionEncoder's schema id). */
  readonly predictionWriter: PredictionEventWriter;
  readonly auditEncoder: AvroEncoder<AuditEventV1>;
  /** The shadow model (model.challenger), its topic's encoder and the reconciliation; null when none. */
  readonly challenger: {
    readonly model: ServingModel;
    readonly encoder: AvroEncoder<PredictionEventV1>;
    readonly reconciler: Reconciler;
  } | null;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  /** The data-quality gate's rolling horizons, per input partition. */
  readonly gate: RejectionGate;
  /** Drift of the scored vectors against the model's reference; null when drift.enabled is false. */
  readonly drift: DriftMonitor | null;
  /** The last published score per recently scored entity, for the jump count. */
  readonly jumps: ScoreJumps;
  readonly crashPoint?: (name: CrashPointName) => void;
}

/** What a window needs of its partition. */
export interface PartitionContext {
  readonly tp: TopicPartition;
  readonly producer: TransactionalProducer;
  /** Highest input offset known committed (a replay below it must not emit again). */
  committedMarker: bigint;
  /** Highest input offset this process itself committed since it was assigned the partition. */
  committedHere: bigint;
  /** After a commit: raises both offsets in memory and sends the marker to Redis (not awaited). */
  markCommitted(offset: bigint): void;
  /**
   * Asks the broker for the group's committed offset and raises the marker to it. Used before re-emitting:
   * the in-memory marker can lag when a commit succeeded but its acknowledgement was lost.
   */
  refreshMarker(): Promise<bigint>;
}
