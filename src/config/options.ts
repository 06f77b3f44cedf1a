import { z } from 'zod';
import { defaultBrokers, defaultRedisUrl, defaultRegistryUrl, DEFAULT_PORTS } from './defaults.js';

const topicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name uses only letters, digits, ".", "_" and "-"');

const encoding = z.enum(['avro', 'json']);

export const cdcInputSchema = z
  .object({
    topic: topicName,
    /** Debezium JSON may be `{schema,payload}` (schemas.enable=true) or the payload alone; both are read. */
    format: encoding.default('avro'),
    /** Column of the row that identifies the scored entity. */
    idField: z.string().min(1).default('id'),
    /** What to do with a truncate (`op=t`): send it to the DLQ for an operator (default) or skip it. */
    onTruncate: z.enum(['dlq', 'skip']).default('dlq'),
    /**
     * The declared Avro schema of the topic's values; JSON without an embedded schema needs it for decimal
     * scales. Default: schemas/<topic>-value.avsc when it exists.
     */
    schemaFile: z.string().min(1).optional(),
    /** The topic's input contract (validate/contract.ts). Default: schemas/<topic>-contract.yaml when it exists. */
    contractFile: z.string().min(1).optional(),
    /**
     * The topic carries Debezium's ExtractNewRecordState (unwrap) output: the value is the plain row, a
     * delete is a row with `__deleted: "true"` or a tombstone. Full envelopes are still read.
     */
    unwrapped: z.boolean().default(false),
  })
  .strict();

export const eventInputSchema = z
  .object({
    topic: topicName,
    format: encoding.default('avro'),
    idField: z.string().min(1).default('customer_id'),
    /** Field holding the event time (epoch millis or ISO-8601 string). */
    timeField: z.string().min(1).default('event_time'),
    /** Field holding the event's idempotency key; absent → `<topic>/<partition>/<offset>`. */
    eventIdField: z.string().min(1).default('txn_id'),
    schemaFile: z.string().min(1).optional(),
    /** The topic's input contract (validate/contract.ts). Default: schemas/<topic>-contract.yaml when it exists. */
    contractFile: z.string().min(1).optional(),
  })
  .strict();

/** TLS files of a client (kafka.ssl as an object, redis.tls). */
const tlsFilesSchema = z
  .object({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    keyPassword: z.string().min(1).optional(),
    verifyHostname: z.boolean().default(true),
  })
  .strict()
  .refine((o) => (o.certFile === undefined) === (o.keyFile === undefined), {
    message:
      'certFile and keyFile go together (the client certificate and its private key, for mutual TLS); set both or neither',
  });

export const configSchema = z
  .object({
    pipeline: z
      .object({
        name: z
          .string()
          .min(1)
          .regex(/^[a-z0-9-]+$/, 'use lower-case letters, digits and "-"')
          .default('churn'),
        entity: z.string().min(1).default('customer'),
      })
      .strict()
      .prefault({}),
    kafka: z
      .object({
        brokers: z
          .array(z.string().regex(/^[^:]+:\d+$/, 'expected host:port'))
          .min(1)
          .default(defaultBrokers({})),
        clientId: z.string().min(1).default('streamscore'),
        /**
         * TLS to the brokers. `true`: the system's trusted CAs. An object: a CA bundle (`caFile`, PEM) for a
         * private CA, a client certificate and key for mutual TLS (`certFile` + `keyFile`, PEM; `keyPassword`
         * when the key is encrypted), and `verifyHostname` (default true: the broker certificate must name
         * the host or IP the client dialled).
         */
        ssl: z.union([z.boolean(), tlsFilesSchema]).default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
            /** PLAIN sends the password as it is: refused without TLS unless this is set (a local test broker). */
            allowPlainWithoutTls: z.boolean().default(false),
          })
          .strict()
          .optional(),
        connectionTimeoutMs: z.number().int().positive().default(3000),
        /**
         * A window's transaction is aborted by the broker when it is not committed within this long (a
         * frozen or partitioned instance); at most the broker's transaction.max.timeout.ms (15 min).
         */
        transactionTimeoutMs: z.number().int().min(1000).default(60000),
      })
      .strict()
      .prefault({}),
    registry: z
      .object({
        url: z.url().default(defaultRegistryUrl({})),
        username: z.string().optional(),
        password: z.string().optional(),
        /**
         * How long windows may keep failing on registry problems that are not about a record (unreachable,
         * 401/403/429, 5xx, answers that are not schemas) before the pipeline halts, naming the cause. Until
         * then each window waits and is retried; nothing is committed or dead-lettered.
         */
        maxOutageMs: z.number().int().min(1000).default(600000),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://…')
          .default(defaultRedisUrl({})),
        /** ACL user (Redis 6+); with `password`. Or in the URL: rediss://user:password@host:port. */
        username: z.string().min(1).optional(),
        password: z.string().optional(),
        /**
         * TLS files for a `rediss://` URL: the CA bundle (default: the system's), a client certificate and
         * key (when the server requires them), hostname verification (default on).
         */
        tls: tlsFilesSchema.optional(),
        db: z.number().int().min(0).max(15).default(0),
        keyPrefix: z.string().min(1).default('ss:'),
        /**
         * Redis Cluster: `url` is one node of it (plus `clusterNodes`, more nodes to start from); the client
         * finds the rest, follows MOVED/ASK and groups script calls by hash slot (docs/redis.md).
         */
        cluster: z.boolean().default(false),
        clusterNodes: z
          .array(z.string().regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://…'))
          .default([]),
      })
      .strict()
      .prefault({}),
    inputs: z
      .object({
        cdc: z.array(cdcInputSchema).default([
          {
            topic: 'cdc.bank.customers',
            format: 'avro',
            idField: 'id',
            onTruncate: 'dlq',
            unwrapped: false,
          },
        ]),
        events: z.array(eventInputSchema).default([
          {
            topic: 'transactions',
            format: 'avro',
            idField: 'customer_id',
            timeField: 'event_time',
            eventIdField: 'txn_id',
          },
        ]),
      })
      .strict()
      .prefault({}),
    outputs: z
      .object({
        predictions: topicName.default('predictions'),
        audit: topicName.default('audit'),
        dlq: topicName.default('dlq'),
        /** Predictions the output guard refused, with the reason (JSON values); never read by lookups. */
        quarantine: topicName.default('quarantine'),
        /** The challenger's predictions (model.challenger): same schema as predictions, same entity and version. */
        shadow: topicName.default('predictions-shadow'),
      })
      .strict()
      .prefault({}),
    consumer: z
      .object({
        groupId: z.string().min(1).default('streamscore-churn'),
        sessionTimeoutMs: z.number().int().min(6000).default(30000),
        heartbeatIntervalMs: z.number().int().positive().default(3000),
        fromBeginning: z.boolean().default(true),
        /** Partitions whose windows run at once; at least the assigned partitions, so no window waits for another's commit. */
        partitionsConcurrently: z.number().int().min(1).max(256).default(16),
      })
      .strict()
      .prefault({}),
    window: z
      .object({
        /** Records per window while the partition keeps up (its fetched batch holds at most this many). */
        maxRecords: z.number().int().positive().default(5000),
        /**
         * Records per window while the partition is behind (its fetched batch holds more than maxRecords):
         * fewer, larger windows spread each window's fixed costs (a transaction, a Redis round trip, an ONNX
         * run) over more records; latency does not suffer, the records were waiting anyway. Default: 4 ×
         * maxRecords. Set it to maxRecords for fixed-size windows.
         */
        maxRecordsBehind: z.number().int().positive().optional(),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        maxDelayMs: z.number().int().positive().default(250),
        /**
         * The fetch returns once this many bytes are ready, or after maxDelayMs. 1: as soon as there is data
         * (windows hold what arrived while the previous one was processed: lowest latency); up to maxBytes:
         * larger windows at low rates, each held up to maxDelayMs.
         */
        minBytes: z.number().int().positive().default(1),
      })
      .strict()
      .prefault({}),
    backpressure: z
      .object({
        /** Fetching pauses while more records than this are buffered and not yet committed. */
        maxInFlightRecords: z.number().int().positive().default(50000),
        /**
         * Records the windows of all partitions process at once (a window waits for its share; one larger
         * than this runs alone). Bounds the heap: a window's working set is several times its fetched
         * records, and every assigned partition runs its windows concurrently (docs/memory.md).
         */
        maxWindowRecords: z.number().int().positive().default(40000),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        /**
         * SIGTERM/SIGINT: the whole stop takes at most this long (keep it under the orchestrator's grace
         * period, 30 s in Kubernetes). Each step gets its share (windows 40%, producers 20%, consumer 25%,
         * Redis, model and HTTP server 5% each); a step that does not finish in its share is abandoned and
         * the process exits non-zero, naming it.
         */
        timeoutMs: z.number().int().min(1000).default(15000),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        /**
         * MiB of entity state kept in process between windows (what the feature spec reads of each entity),
         * so a window reads Redis only for entities it has not seen; least recently used go first. 0 turns
         * the cache off (every window reads its entities).
         */
        cacheMb: z.number().min(0).default(64),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        dir: z.string().min(1).default('models'),
        name: z.string().min(1).default('churn'),
        version: z.string().min(1).default('2'),
        /**
         * Follow an alias (champion, challenger, any name) instead of pinning `version`: the model served is
         * the alias's latest promotion on the control topic (`streamscore models promote`), switched at each
         * partition's next window boundary without a restart; `version` until the alias was first promoted.
         */
        alias: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-", at most 64')
          .optional(),
        /**
         * A challenger version scored in shadow: the same entities in the same window (one more ONNX run),
         * its predictions to outputs.shadow only, never to Redis or outputs.predictions; reconciled with the
         * champion per window and over the last `challengerHorizonRows` rows (audit, metrics, `models compare`).
         */
        challenger: z.string().min(1).optional(),
        challengerHorizonRows: z.number().int().min(10).default(5000),
      })
      .strict()
      .prefault({}),
    reasons: z
      .object({
        /** Reason codes per prediction: the top-k features by contribution (0: off). */
        topK: z.number().int().min(0).max(32).default(3),
        /** `auto`: exact for a linear-logit graph, else per-feature substitution of the reference value. */
        method: z.enum(['auto', 'linear', 'substitution']).default('auto'),
      })
      .strict()
      .prefault({}),
    control: z
      .object({
        /** The compacted control topic (topics/control.yaml): model promotions. */
        topic: topicName.default('streamscore.control'),
      })
      .strict()
      .prefault({}),
    predictions: z
      .object({
        /** A prediction is `stale` once now > scored_at + validForMs. */
        validForMs: z
          .number()
          .int()
          .positive()
          .default(24 * 3600 * 1000),
      })
      .strict()
      .prefault({}),
    /**
     * Time-driven re-scoring (`streamscore timers`): an entity whose aggregates change with the passage of
     * time alone (an event leaves a window) is scored again as of that instant, by a sweep over the stored
     * states. Off by default; a model without time windows has nothing to do.
     */
    timers: z
      .object({
        enabled: z.boolean().default(false),
        /** A sweep over every stored entity starts at most this often (a due entity waits at most one sweep). */
        sweepIntervalMs: z.number().int().min(100).default(60000),
        /** Entities looked at per second at most (SCAN + state reads), so the live stream keeps its latency. */
        scanRate: z.number().int().min(1).default(20000),
        /** Entities scored per second at most (after a long stop, everyone may be due at once). */
        scoreRate: z.number().int().min(1).default(2000),
        /** Entities per chunk: one Redis round trip and one Kafka transaction each. */
        chunk: z.number().int().min(1).max(10000).default(500),
      })
      .strict()
      .prefault({}),
    dlq: z
      .object({
        /**
         * The data-quality gate trips when more than this share of records is rejected: in one window …
         */
        floodRatio: z.number().gt(0).max(1).default(0.5),
        /** … of at least this many records, or over a partition's rolling horizon once it holds this many. */
        floodMinRecords: z.number().int().positive().default(100),
        /** The rolling horizon: each partition's last this-many records (a slow trickle of garbage). */
        rollingRecords: z.number().int().positive().default(1000),
        /**
         * What a trip does. `halt`: commit nothing, hold the pipeline (fetching paused, /readyz 503 with the
         * reason, streamscore_pipeline_held 1) until an operator resumes it (POST /admin/resume) or restarts
         * it after the fix. `dlq`: log, count, and send the rejected records to the DLQ as usual.
         */
        policy: z.enum(['halt', 'dlq']).default('halt'),
      })
      .strict()
      .prefault({}),
    guard: z
      .object({
        /**
         * A window whose scores fail the guard (outside the model's valid range, NaN): `quarantine` sends
         * its predictions to outputs.quarantine with the reason, writes the entities' state but not their
         * predictions (Redis keeps the last good ones, which turn stale past predictions.validForMs; the
         * entity is scored again with its next record), commits, and moves on; `halt` holds the pipeline
         * like the input gate does.
         */
        policy: z.enum(['quarantine', 'halt']).default('quarantine'),
        /** Share of a window's scores that may be invalid (each quarantined alone) before the window fails. */
        maxInvalidShare: z.number().min(0).max(1).default(0),
        /** A published score this far from the entity's previous one counts as a jump (streamscore_score_jumps_total). */
        jumpThreshold: z.number().positive().default(0.5),
        /** Entities whose last score is remembered for the jump count (about 100 bytes each). */
        jumpMemoryEntities: z.number().int().min(0).default(100000),
      })
      .strict()
      .prefault({}),
    drift: z
      .object({
        /** Compare the scored vectors with the model's reference distributions (model.json `reference`). */
        enabled: z.boolean().default(true),
        /** The rolling horizon: this instance's last this-many scored rows. */
        horizonRows: z.number().int().positive().default(5000),
        /** No feature is judged before the horizon holds this many rows. */
        minRows: z.number().int().positive().default(1000),
        /** A feature drifts when its PSI over the horizon reaches this … */
        psiThreshold: z.number().positive().default(0.25),
        /** … or, for continuous features, its KS statistic reaches this. */
        ksThreshold: z.number().positive().max(1).default(0.15),
        /**
         * `alert`: metrics (streamscore_drift_flagged, _feature_psi, _feature_ks) and a log line when a feature
         * starts or stops drifting. `block`: also refuse the window's scores (the output guard's policy:
         * quarantine or halt).
         */
        action: z.enum(['alert', 'block']).default('alert'),
      })
      .strict()
      .prefault({}),
    observe: z
      .object({
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORTS.observe),
        host: z.string().default('127.0.0.1'),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** How often the consumer lag is read from the broker (per owned partition: log end - committed). */
        lagIntervalMs: z.number().int().min(100).default(10000),
        /**
         * A partition that has records in hand or behind it and commits nothing for this long is stalled:
         * /readyz fails (and /healthz after twice as long), streamscore_partition_stalled = 1, an error is logged.
         */
        stallAfterMs: z.number().int().min(1000).default(120000),
        /**
         * Bearer token for the admin endpoints (POST /admin/resume); unset: they answer 404. At least 16
         * characters; treat it as a secret (STREAMSCORE_OBSERVE_ADMIN_TOKEN).
         */
        adminToken: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // A window that can stay open longer than a third of the session timeout risks a rebalance while it
    // is being processed; heartbeats run in the background, but the commit must land well within it.
    if (cfg.window.maxDelayMs >= cfg.consumer.sessionTimeoutMs / 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['window', 'maxDelayMs'],
        message: `must be below consumer.sessionTimeoutMs / 3 (${Math.floor(cfg.consumer.sessionTimeoutMs / 3)})`,
      });
    }
    if (cfg.window.maxRecordsBehind !== undefined && cfg.window.maxRecordsBehind < cfg.window.maxRecords) {
      ctx.addIssue({
        code: 'custom',
        path: ['window', 'maxRecordsBehind'],
        message: `must be at least window.maxRecords (${cfg.window.maxRecords})`,
      });
    }
    if (cfg.window.minBytes > cfg.window.maxBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['window', 'minBytes'],
        message: `must be at most window.maxBytes (${cfg.window.maxBytes}); the broker could never answer earlier`,
      });
    }
    if (cfg.consumer.heartbeatIntervalMs >= cfg.consumer.sessionTimeoutMs / 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['consumer', 'heartbeatIntervalMs'],
        message: 'must be below consumer.sessionTimeoutMs / 3',
      });
    }
    if (cfg.redis.tls !== undefined && !cfg.redis.url.startsWith('rediss://')) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'tls'],
        message: `is set but redis.url is not rediss://: use rediss://${cfg.redis.url.slice('redis://'.length)} (TLS), or remove redis.tls`,
      });
    }
    if (cfg.redis.cluster && cfg.redis.db !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'db'],
        message:
          'Redis Cluster has database 0 only: remove redis.db (or set it to 0), or set redis.cluster: false',
      });
    }
    if (cfg.redis.cluster && /[{}]/.test(cfg.redis.keyPrefix + cfg.pipeline.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'keyPrefix'],
        message:
          'on Redis Cluster the key prefix and pipeline.name must not contain { or } (the keys carry hash tags of their own): choose a prefix without braces',
      });
    }
    if (!cfg.redis.cluster && cfg.redis.clusterNodes.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'clusterNodes'],
        message: 'is set but redis.cluster is false: set redis.cluster: true, or remove redis.clusterNodes',
      });
    }
    const sasl = cfg.kafka.sasl;
    if (sasl?.mechanism === 'plain' && cfg.kafka.ssl === false && !sasl.allowPlainWithoutTls) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'sasl', 'mechanism'],
        message:
          'PLAIN without TLS sends the password in clear text: set kafka.ssl (true, or { caFile }), or use scram-sha-512, or set kafka.sasl.allowPlainWithoutTls: true for a local test broker',
      });
    }
    if (cfg.drift.minRows > cfg.drift.horizonRows) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift', 'minRows'],
        message: `must be at most drift.horizonRows (${cfg.drift.horizonRows})`,
      });
    }
    if (cfg.observe.stallAfterMs <= cfg.observe.lagIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['observe', 'stallAfterMs'],
        message: `must be above observe.lagIntervalMs (${cfg.observe.lagIntervalMs}): the broker's view is read that often`,
      });
    }
    const topics = [
      ...cfg.inputs.cdc.map((i) => i.topic),
      ...cfg.inputs.events.map((i) => i.topic),
      cfg.outputs.predictions,
      cfg.outputs.audit,
      cfg.outputs.dlq,
      cfg.outputs.quarantine,
      cfg.outputs.shadow,
    ];
    const seen = new Set<string>();
    for (const t of topics) {
      if (seen.has(t)) {
        ctx.addIssue({
          code: 'custom',
          path: ['inputs'],
          message: `topic "${t}" is used twice; each role needs its own topic`,
        });
      }
      seen.add(t);
    }
    if (cfg.inputs.cdc.length + cfg.inputs.events.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputs'],
        message: 'at least one cdc or event input is required',
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
