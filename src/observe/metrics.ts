import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Buckets of the per-window step durations (stages, transaction steps): 0.5 ms to 5 s. */
const STEP_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Every metric streamscore exports; one registry per pipeline so tests can run several in one process. */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly records: Counter<'stage' | 'topic' | 'outcome'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly transactionPhaseSeconds: Histogram<'phase'>;
  readonly windowRecords: Histogram;
  readonly windowBytes: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly inFlightRecords: Gauge;
  readonly windowRecordsInUse: Gauge;
  readonly paused: Gauge;
  readonly held: Gauge;
  readonly gateTrips: Counter<'scope' | 'policy'>;
  readonly registryOutage: Gauge;
  readonly quarantined: Counter;
  readonly featurePsi: Gauge<'feature'>;
  readonly featureKs: Gauge<'feature'>;
  readonly driftFlagged: Gauge<'feature'>;
  readonly scorePsi: Gauge<'against'>;
  readonly tierMixPsi: Gauge;
  readonly scoreJumps: Counter;
  readonly windows: Counter<'outcome'>;
  readonly groupMember: Gauge;
  readonly partitionStalled: Gauge<'topic' | 'partition'>;
  readonly inputAge: Gauge<'topic' | 'partition'>;
  readonly consumerCrashes: Counter<'restart'>;
  readonly groupAssignments: Counter;
  readonly promotions: Counter<'outcome'>;
  readonly challengerDiff: Gauge<'scope'>;
  readonly challengerTierAgreement: Gauge<'scope'>;
  readonly challengerRankCorrelation: Gauge<'scope'>;
  readonly challengerDecisionChanged: Gauge<'scope'>;
  readonly modelRefused: Gauge;
  readonly redisEpoch: Gauge;
  readonly rebuilds: Counter<'outcome'>;
  readonly rebuildRecords: Counter;
  readonly rebuildSeconds: Gauge<'phase'>;

  constructor(pipeline: string) {
    this.registry.setDefaultLabels({ pipeline });
    collectDefaultMetrics({ register: this.registry, prefix: 'streamscore_' });
    const registers = [this.registry];
    this.records = new Counter({
      name: 'streamscore_records_total',
      help: 'Records through each stage; outcome tells what happened to them',
      labelNames: ['stage', 'topic', 'outcome'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'streamscore_stage_duration_seconds',
      help: 'Time spent per window in each stage',
      labelNames: ['stage'],
      buckets: STEP_SECONDS_BUCKETS,
      registers,
    });
    this.transactionPhaseSeconds = new Histogram({
      name: 'streamscore_transaction_phase_seconds',
      help: "Time per committed window in each step of its Kafka transaction: begin, send (AddPartitionsToTxn and the produce requests, with kafkajs's retries such as CONCURRENT_TRANSACTIONS), offsets (AddOffsetsToTxn, TxnOffsetCommit), commit (EndTxn)",
      labelNames: ['phase'],
      buckets: STEP_SECONDS_BUCKETS,
      registers,
    });
    this.windowRecords = new Histogram({
      name: 'streamscore_window_records',
      help: 'Records per closed window',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers,
    });
    this.windowBytes = new Histogram({
      name: 'streamscore_window_bytes',
      help: 'Input bytes per closed window',
      buckets: [1e3, 1e4, 1e5, 5e5, 1e6, 4e6, 1.6e7],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'streamscore_consumer_lag',
      help: 'Log end minus the committed offset, per owned input partition (read from the broker every observe.lagIntervalMs, and at each commit); counts transaction markers',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.inFlightRecords = new Gauge({
      name: 'streamscore_in_flight_records',
      help: 'Records fetched and not yet committed',
      registers,
    });
    this.windowRecordsInUse = new Gauge({
      name: 'streamscore_window_records_in_use',
      help: 'Records in windows being processed, all partitions together (at most backpressure.maxWindowRecords)',
      registers,
    });
    this.paused = new Gauge({
      name: 'streamscore_fetch_paused',
      help: '1 while backpressure pauses fetching',
      registers,
    });
    this.held = new Gauge({
      name: 'streamscore_pipeline_held',
      help: '1 while the data-quality gate holds the pipeline (dlq.policy=halt): nothing is fetched or committed until an operator resumes it (POST /admin/resume) or restarts it',
      registers,
    });
    this.gateTrips = new Counter({
      name: 'streamscore_dlq_gate_trips_total',
      help: 'Windows whose rejected share crossed dlq.floodRatio (scope: window or rolling horizon; policy: halt held the pipeline, dlq let them through)',
      labelNames: ['scope', 'policy'],
      registers,
    });
    this.registryOutage = new Gauge({
      name: 'streamscore_registry_outage_seconds',
      help: 'How long windows have been failing on registry problems not about a record (0: none); the pipeline halts at registry.maxOutageMs',
      registers,
    });
    this.quarantined = new Counter({
      name: 'streamscore_quarantined_predictions_total',
      help: 'Predictions the output guard refused (scores outside the model valid range, NaN): sent to the quarantine topic, not to Redis or the predictions topic',
      registers,
    });
    this.featurePsi = new Gauge({
      name: 'streamscore_feature_psi',
      help: "PSI of each feature over the drift horizon (this instance's last drift.horizonRows scored rows) against the model's reference",
      labelNames: ['feature'],
      registers,
    });
    this.featureKs = new Gauge({
      name: 'streamscore_feature_ks',
      help: 'Kolmogorov-Smirnov statistic of each continuous feature over the drift horizon against the reference (recomputed every tenth of the horizon)',
      labelNames: ['feature'],
      registers,
    });
    this.driftFlagged = new Gauge({
      name: 'streamscore_drift_flagged',
      help: '1 while a feature drifts (PSI >= drift.psiThreshold or KS >= drift.ksThreshold over the horizon)',
      labelNames: ['feature'],
      registers,
    });
    this.scorePsi = new Gauge({
      name: 'streamscore_score_psi',
      help: 'PSI of the scores over the drift horizon, against the reference (against="reference") and the previous full horizon (against="previous")',
      labelNames: ['against'],
      registers,
    });
    this.tierMixPsi = new Gauge({
      name: 'streamscore_tier_mix_psi',
      help: "PSI of the drift horizon's tier mix against the mix the model's reference scores imply; flagged as (tier mix) at drift.psiThreshold",
      registers,
    });
    this.scoreJumps = new Counter({
      name: 'streamscore_score_jumps_total',
      help: "Published predictions whose score moved more than guard.jumpThreshold from the entity's previous one (seen by this instance)",
      registers,
    });
    this.windows = new Counter({
      name: 'streamscore_windows_total',
      help: 'Windows by outcome (committed, quarantined: committed with its scores refused by the output guard, aborted, fenced, halted)',
      labelNames: ['outcome'],
      registers,
    });
    this.inputAge = new Gauge({
      name: 'streamscore_window_input_age_seconds',
      help: "Age of the oldest record (its Kafka timestamp) of the partition's last committed window, at the commit: how far predictions trail their input",
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.partitionStalled = new Gauge({
      name: 'streamscore_partition_stalled',
      help: '1 while an owned input partition commits nothing for observe.stallAfterMs with records in hand or behind it',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.groupMember = new Gauge({
      name: 'streamscore_group_member',
      help: '1 while this instance is in its consumer group with a current assignment (what /readyz reports)',
      registers,
    });
    this.consumerCrashes = new Counter({
      name: 'streamscore_consumer_crashes_total',
      help: 'Consumer crashes; restart="true" when the consumer restarts and rejoins, "false" when the pipeline halts',
      labelNames: ['restart'],
      registers,
    });
    this.groupAssignments = new Counter({
      name: 'streamscore_group_assignments_total',
      help: 'Partition assignments this instance received (one per group join: the first, then one per rebalance it took part in)',
      registers,
    });
    this.promotions = new Counter({
      name: 'streamscore_model_promotions_total',
      help: 'Model promotions of the followed alias: applied (switched at the next window boundary), refused (the running model stays), unchanged',
      labelNames: ['outcome'],
      registers,
    });
    this.modelRefused = new Gauge({
      name: 'streamscore_model_refused',
      help: "1 while the followed alias's latest promotion was refused (incompatible or unloadable) and an older version serves",
      registers,
    });
    for (const outcome of ['applied', 'refused', 'unchanged']) this.promotions.inc({ outcome }, 0);
    const challenger = (name: string, help: string) =>
      new Gauge({
        name: `streamscore_challenger_${name}`,
        help: `${help} (model.challenger vs the champion; scope="window": the last window, "horizon": the last model.challengerHorizonRows rows)`,
        labelNames: ['scope'],
        registers,
      });
    this.challengerDiff = challenger('mean_abs_diff', 'Mean absolute score difference');
    this.challengerTierAgreement = challenger('tier_agreement', 'Share of entities put in the same tier');
    this.challengerRankCorrelation = challenger(
      'rank_correlation',
      "Spearman's rank correlation of the scores",
    );
    this.challengerDecisionChanged = challenger(
      'decision_changed',
      'Share of entities whose decision (in the highest tier or not) would change',
    );
    // every outcome exists from the start at 0, so rate() and increase() see the first one (a series that
    // appears at 1 counts as no increase; alert rules in ops/prometheus depend on this)
    for (const outcome of ['committed', 'quarantined', 'aborted', 'fenced', 'halted'])
      this.windows.inc({ outcome }, 0);
    for (const restart of ['true', 'false']) this.consumerCrashes.inc({ restart }, 0);
    for (const scope of ['window', 'rolling'])
      for (const policy of ['halt', 'dlq']) this.gateTrips.inc({ scope, policy }, 0);
    this.redisEpoch = new Gauge({
      name: 'streamscore_redis_epoch_state',
      help: '0: Redis holds the pipeline state; 1: waiting for another instance to rebuild it; 2: rebuilding it from the log (not ready while > 0)',
      registers,
    });
    this.rebuilds = new Counter({
      name: 'streamscore_redis_rebuilds_total',
      help: 'Rebuilds of a Redis that lost its data, by outcome (done, failed, lost: the claim on Redis was lost midway)',
      labelNames: ['outcome'],
      registers,
    });
    this.rebuildRecords = new Counter({
      name: 'streamscore_redis_rebuild_records_total',
      help: 'Input records read back from the log by rebuilds',
      registers,
    });
    this.rebuildSeconds = new Gauge({
      name: 'streamscore_redis_rebuild_last_seconds',
      help: 'Duration of the last completed rebuild, by phase (detect: loss noticed to rebuild start; state; score; total)',
      labelNames: ['phase'],
      registers,
    });
  }

  /**
   * The state cache, read at scrape time: entities and estimated bytes held, and windows' lookups served
   * from it (hit) or read from Redis (miss). A low hit rate means state.cacheMb is below the working set.
   */
  /** The model scoring this pipeline's windows (an info metric: the value is always 1). */
  #modelInfo: Gauge<'name' | 'version' | 'sha256' | 'feature_version'> | undefined;

  /** The model in use; called again after a promotion (the old series goes). */
  modelInfo(model: { name: string; version: string; sha256: string; featureVersion: string }): void {
    this.#modelInfo ??= new Gauge({
      name: 'streamscore_model_info',
      help: 'The model in use: name, version, sha256 of model.onnx and feature spec (value 1)',
      labelNames: ['name', 'version', 'sha256', 'feature_version'],
      registers: [this.registry],
    });
    this.#modelInfo.reset();
    this.#modelInfo.set(
      {
        name: model.name,
        version: model.version,
        sha256: model.sha256,
        feature_version: model.featureVersion,
      },
      1,
    );
  }

  stateCache(stats: () => { entities: number; bytes: number; hits: number; misses: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'streamscore_state_cache_entities',
      help: 'Entities whose state the process holds between windows',
      registers,
      collect() {
        this.set(stats().entities);
      },
    });
    new Gauge({
      name: 'streamscore_state_cache_bytes',
      help: 'Estimated bytes of the state cache (bounded by state.cacheMb)',
      registers,
      collect() {
        this.set(stats().bytes);
      },
    });
    new Gauge({
      name: 'streamscore_state_cache_lookups',
      help: 'Entity lookups of windows since start, by result (hit: from the cache; miss: read from Redis)',
      labelNames: ['result'],
      registers,
      collect() {
        const s = stats();
        this.set({ result: 'hit' }, s.hits);
        this.set({ result: 'miss' }, s.misses);
      },
    });
  }
}
