/**
 * Noticing that Redis lost its data, and getting the pipeline's state back before anything is written
 * again. Every instance of the pipeline runs one of these; the epoch key (src/sink/epoch.ts) decides who
 * rebuilds:
 *
 *  - at start: an epoch in Redis is adopted; none while the group has committed offsets means Redis lost
 *    what those commits wrote (it restarted empty while nothing ran): rebuild; none and no offsets is a new
 *    deployment: a new epoch is made;
 *  - while running: a write refused by the epoch fence (SS_REDIS_LOST), or the watch (a read of the epoch
 *    every second) seeing it gone or changed, starts a recovery. The pipeline stops fetching and is not
 *    ready; the first instance to claim the missing epoch rebuilds from the log (src/recover/rebuild.ts),
 *    the others wait and adopt the epoch it ends with. A claim whose owner died expires and is taken over.
 */
import { groupOffsets, logEnds } from '../adapters/kafka-replay.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import { StreamscoreError } from '../errors/index.js';
import type { PipelineContext } from '../pipeline/types.js';
import { EpochStore, newEpochId, rebuildToken } from '../sink/index.js';
import { rebuildFromLog } from './rebuild.js';

/** How long a rebuild claim lives without renewal (renewed four times per period while the rebuild works). */
const CLAIM_TTL_MS = 20000;
const POLL_MS = 500;
const WATCH_MS = 1000;

type Phase = 'ready' | 'waiting' | 'rebuilding';
const PHASE_GAUGE: Record<Phase, number> = { ready: 0, waiting: 1, rebuilding: 2 };

export interface RecoveryOptions {
  readonly ctx: PipelineContext;
  readonly kafka: KafkaClient;
  readonly store: RedisStore;
  /** This instance (host:pid), named in the rebuild claim. */
  readonly owner: string;
  /** Called when recovering starts (true) and ends (false): the pipeline pauses and resumes fetching. */
  readonly onChange: (recovering: boolean) => void;
  /**
   * A bounded run (`streamscore replay`): rebuild only up to the group's committed offsets, so the state
   * is as of where the run resumes and never holds a record it has not reached yet (a live pipeline
   * rebuilds up to the log end and lets the next windows emit what they owe).
   */
  readonly upToCommitted?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RedisRecovery {
  readonly #o: RecoveryOptions;
  readonly #epochs: EpochStore;
  #running: Promise<void> | undefined;
  #watch: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: RecoveryOptions) {
    this.#o = o;
    this.#epochs = new EpochStore(o.store, o.ctx.sink.epochKey);
  }

  /** True while the pipeline must not process: Redis lost its data and is not rebuilt yet. */
  get recovering(): boolean {
    return this.#running !== undefined;
  }

  /** Before the first window: adopts the epoch, makes a new one, or rebuilds (see the module comment). */
  async start(): Promise<void> {
    const { ctx, kafka } = this.#o;
    for (;;) {
      const v = await this.#epochs.read();
      if (v.kind === 'ready') {
        if (!(await this.#epochs.intact(v.id))) {
          ctx.logger.warn(
            { epoch: v.id },
            'a Redis Cluster node lost its copies of the epoch (its data): dropping the epoch to rebuild',
          );
          await this.#epochs.drop(v.id);
          continue;
        }
        ctx.sink.useEpoch(v.id);
        break;
      }
      if (v.kind === 'missing') {
        const committed = await groupOffsets(kafka, ctx.config.consumer.groupId, [...ctx.roles.keys()]);
        if (committed.size === 0) {
          // a new deployment: nothing was committed, so Redis cannot have lost anything
          const id = newEpochId();
          if (await this.#epochs.create(id)) {
            ctx.logger.info({ epoch: id }, 'new Redis epoch (nothing committed yet)');
            ctx.sink.useEpoch(id);
            break;
          }
          continue;
        }
      }
      ctx.logger.warn(
        { epoch: v },
        'Redis holds no state of this pipeline while its group has committed offsets: rebuilding from the log',
      );
      await this.lost('start');
      break;
    }
    this.#watch = setInterval(() => this.#check(), WATCH_MS);
    this.#watch.unref();
  }

  /** Starts a recovery unless one runs; resolves when Redis holds the state again. */
  lost(cause: string): Promise<void> {
    if (this.#running === undefined) {
      this.#o.ctx.logger.error({ cause }, 'Redis lost the pipeline state; pausing until it is rebuilt');
      this.#o.onChange(true);
      this.#running = this.#recover(Date.now()).finally(() => {
        this.#running = undefined;
        this.#phase('ready');
        if (!this.#stopped) this.#o.onChange(false);
      });
    }
    return this.#running;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#watch !== undefined) clearInterval(this.#watch);
  }

  #check(): void {
    if (this.#running !== undefined || this.#stopped) return;
    this.#epochs
      .read()
      .then(async (v) => {
        if (this.#running !== undefined || this.#stopped) return;
        if (v.kind !== 'ready' || v.id !== this.#o.ctx.sink.epoch) void this.lost(`watch: epoch ${v.kind}`);
        else if (!(await this.#epochs.intact(v.id, true)))
          void this.lost('watch: a node lost its epoch copies');
      })
      // Redis unreachable: windows fail and retry meanwhile; the epoch is read again when it is back
      .catch(() => undefined);
  }

  #phase(p: Phase): void {
    this.#o.ctx.metrics.redisEpoch.set(PHASE_GAUGE[p]);
  }

  async #recover(detectedAt: number): Promise<void> {
    const { ctx, owner } = this.#o;
    let quietUntil = 0;
    while (!this.#stopped) {
      this.#phase('waiting');
      try {
        const v = await this.#epochs.read();
        if (v.kind === 'ready' && !(await this.#epochs.intact(v.id))) {
          // a cluster node lost its data (and with it its copies of the epoch): rebuild everything
          ctx.logger.warn({ epoch: v.id }, 'a Redis Cluster node lost its copies of the epoch: dropping it');
          await this.#epochs.drop(v.id);
          continue;
        }
        if (v.kind === 'ready') {
          if (v.id !== ctx.sink.epoch) {
            ctx.sink.useEpoch(v.id);
            ctx.logger.info({ epoch: v.id }, 'Redis state rebuilt by another instance; resuming');
          }
          return;
        }
        // a claim of this instance still standing is a rebuild of its own that failed: start it again
        const mine = v.kind === 'rebuilding' && v.token === rebuildToken(owner);
        if (mine || (v.kind === 'missing' && (await this.#epochs.claimRebuild(owner, CLAIM_TTL_MS)))) {
          await this.#rebuild(detectedAt);
          return;
        }
      } catch (err) {
        if (Date.now() > quietUntil) {
          ctx.logger.warn({ err }, 'Redis recovery: cannot proceed yet; retrying');
          quietUntil = Date.now() + 10000;
        }
      }
      await sleep(POLL_MS);
    }
  }

  async #rebuild(detectedAt: number): Promise<void> {
    const { ctx, kafka, owner } = this.#o;
    this.#phase('rebuilding');
    const started = Date.now();
    const runId = newEpochId();
    // a sink of its own: only the rebuild writes with the claim's token, never a window of this process
    const sink = ctx.sink.writerWith(rebuildToken(owner));
    // on a cluster the rebuild's writes check copies of its token in every slot: write them first, then
    // make sure the claim is still this instance's (a stalled one that lost it must not go on writing)
    await this.#epochs.spread(rebuildToken(owner));
    if (!(await this.#epochs.renew(owner, CLAIM_TTL_MS)))
      throw new StreamscoreError('SS_REDIS_LOST', 'the rebuild lost its claim on Redis before it started', {
        retriable: true,
      });
    let lost = false;
    const renew = setInterval(() => {
      this.#epochs
        .renew(owner, CLAIM_TTL_MS)
        .then((ok) => {
          lost ||= !ok;
        })
        .catch(() => undefined);
    }, CLAIM_TTL_MS / 4);
    try {
      const topics = [...ctx.roles.keys()];
      const logs = await logEnds(kafka, topics);
      const committed = await groupOffsets(kafka, ctx.config.consumer.groupId, topics);
      const ends =
        this.#o.upToCommitted === true
          ? new Map(
              [...logs].map(([k, e]) => {
                const at = committed.get(k) ?? e.low;
                return [k, { low: e.low, high: at < e.high ? at : e.high }];
              }),
            )
          : logs;
      ctx.logger.warn(
        { runId, partitions: ends.size, detectMs: started - detectedAt },
        'rebuilding the Redis state from the log',
      );
      const stats = await rebuildFromLog({ ...ctx, sink }, kafka, {
        ends,
        committed,
        runId,
        check: () => {
          if (lost || this.#stopped)
            throw new StreamscoreError(
              'SS_REDIS_LOST',
              'the rebuild lost its claim on Redis (or is stopping)',
              {
                retriable: true,
              },
            );
        },
      });
      if (!(await this.#epochs.finish(owner, runId)))
        throw new StreamscoreError('SS_REDIS_LOST', 'the rebuild lost its claim on Redis before it ended', {
          retriable: true,
        });
      ctx.sink.useEpoch(runId);
      const totalMs = Date.now() - detectedAt;
      ctx.metrics.rebuilds.inc({ outcome: 'done' });
      ctx.metrics.rebuildSeconds.set({ phase: 'detect' }, (started - detectedAt) / 1000);
      ctx.metrics.rebuildSeconds.set({ phase: 'state' }, stats.stateMs / 1000);
      ctx.metrics.rebuildSeconds.set({ phase: 'score' }, stats.scoreMs / 1000);
      ctx.metrics.rebuildSeconds.set({ phase: 'total' }, totalMs / 1000);
      ctx.logger.warn({ runId, ...stats, totalMs }, 'Redis state rebuilt from the log; resuming');
    } catch (err) {
      const claimLost = err instanceof StreamscoreError && err.code === 'SS_REDIS_LOST';
      ctx.metrics.rebuilds.inc({ outcome: claimLost ? 'lost' : 'failed' });
      ctx.logger.error({ err, runId }, 'Redis rebuild did not complete; it is tried again');
      throw err;
    } finally {
      clearInterval(renew);
    }
  }
}
