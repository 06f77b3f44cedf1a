/**
 * Operator tools for the dead-letter topic: read it whole (read_committed, like every other reader), count
 * by reason and source, pick records, and put them back on their source topic after a fix. A replay ledger
 * in Redis (one hash per pipeline) remembers every record replayed, so none is replayed twice unless forced:
 * a record is claimed in the ledger before it is sent and confirmed after the broker acknowledged it; one
 * claimed but never confirmed (the tool died in between) is reported, not sent again.
 */
import { readToEnd } from '../adapters/kafka-replay.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { PlainProducer } from '../adapters/kafka-produce.js';
import type { RedisStore, ScriptSource } from '../adapters/redis.js';
import type { RawRecord } from '../decode/types.js';
import { DLQ_HEADERS } from '../emit/index.js';

export interface DlqEntry {
  /** Where it sits on the dead-letter topic. */
  readonly partition: number;
  readonly offset: string;
  readonly code: string;
  readonly message: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  readonly batchId: string;
  readonly raw: RawRecord;
}

/** The headers the pipeline adds to a dead-lettered record; a replay sends the others as they came. */
const ADDED = new Set<string>(Object.values(DLQ_HEADERS));
/** Set on a replayed record: the dead-letter record it came from (`<dlq topic>/<partition>@<offset>`). */
export const REPLAY_HEADER = 'ss.replay.of';

const text = (v: Buffer | string | undefined): string => (v === undefined ? '' : v.toString());

export function entryOf(raw: RawRecord): DlqEntry {
  const h = raw.headers;
  return {
    partition: raw.partition,
    offset: raw.offset,
    code: text(h[DLQ_HEADERS.code]) || '(none)',
    message: text(h[DLQ_HEADERS.message]),
    source: {
      topic: text(h[DLQ_HEADERS.topic]),
      partition: Number(text(h[DLQ_HEADERS.partition]) || -1),
      offset: text(h[DLQ_HEADERS.offset]),
    },
    batchId: text(h[DLQ_HEADERS.batch]),
    raw,
  };
}

/** Every committed record of the dead-letter topic, up to its end when the read started. */
export async function readDlq(
  kafka: KafkaClient,
  topic: string,
  groupId: string,
  onProgress?: (passed: bigint, total: bigint) => void,
): Promise<DlqEntry[]> {
  const { records } = await readToEnd(kafka, topic, groupId, onProgress === undefined ? {} : { onProgress });
  return records
    .map(entryOf)
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export interface DlqFilter {
  readonly reason?: string;
  readonly source?: string;
  /** `partition@offset` coordinates on the dead-letter topic. */
  readonly at?: ReadonlySet<string>;
}

export const coordOf = (e: Pick<DlqEntry, 'partition' | 'offset'>): string => `${e.partition}@${e.offset}`;

export function selectEntries(entries: readonly DlqEntry[], f: DlqFilter): DlqEntry[] {
  return entries.filter(
    (e) =>
      (f.reason === undefined || e.code === f.reason) &&
      (f.source === undefined || e.source.topic === f.source) &&
      (f.at === undefined || f.at.has(coordOf(e))),
  );
}

export interface DlqSummary {
  readonly total: number;
  /** Reason code → count, most frequent first. */
  readonly byReason: ReadonlyArray<readonly [string, number]>;
  /** `topic/partition` → count. */
  readonly bySource: ReadonlyArray<readonly [string, number]>;
}

function countBy(entries: readonly DlqEntry[], key: (e: DlqEntry) => string): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const e of entries) m.set(key(e), (m.get(key(e)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function summarise(entries: readonly DlqEntry[]): DlqSummary {
  return {
    total: entries.length,
    byReason: countBy(entries, (e) => e.code),
    bySource: countBy(entries, (e) => `${e.source.topic}/${e.source.partition}`),
  };
}

/** Claims coordinates not in the ledger yet (or all, with force): returns 1 per claimed argument. */
const CLAIM_SCRIPT: ScriptSource = {
  name: 'dlq-claim',
  lua: `local force = ARGV[1] == '1'
local out = {}
for i = 3, #ARGV do
  if force then
    redis.call('HSET', KEYS[1], ARGV[i], 'pending ' .. ARGV[2])
    out[#out + 1] = 1
  else
    out[#out + 1] = redis.call('HSETNX', KEYS[1], ARGV[i], 'pending ' .. ARGV[2])
  end
end
return out`,
};

const CONFIRM_SCRIPT: ScriptSource = {
  name: 'dlq-confirm',
  lua: `for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], 'done ' .. ARGV[1]) end
return #ARGV - 1`,
};

export interface ReplayResult {
  readonly selected: number;
  readonly replayed: number;
  /** Replayed (or claimed) before: not sent again. */
  readonly alreadyReplayed: number;
  /** Claimed by an earlier replay that never confirmed them (it died mid-way): check, then --force. */
  readonly unconfirmed: readonly string[];
}

export interface ReplayDeps {
  readonly redis: RedisStore;
  /** The ledger hash key (one per pipeline and dead-letter topic). */
  readonly ledgerKey: string;
  readonly producer: PlainProducer;
  readonly dlqTopic: string;
  readonly onProgress?: (done: number, total: number) => void;
}

const BATCH = 200;

/** The record as it was before it was dead-lettered, marked with where it was replayed from. */
export function replayMessage(e: DlqEntry, dlqTopic: string) {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(e.raw.headers)) if (v !== undefined && !ADDED.has(k)) headers[k] = v;
  headers[REPLAY_HEADER] = `${dlqTopic}/${coordOf(e)}`;
  return { partition: e.source.partition, key: e.raw.key, value: e.raw.value, headers };
}

/**
 * Sends `entries` back to their source topics and partitions, in DLQ order, `BATCH` at a time: claim in the
 * ledger, send, confirm. `dryRun` claims and sends nothing; it reports what a replay would do.
 */
export async function replayEntries(
  entries: readonly DlqEntry[],
  deps: ReplayDeps,
  opts: { dryRun: boolean; force: boolean },
): Promise<ReplayResult> {
  const ledger = await deps.redis.hgetall(deps.ledgerKey);
  const unconfirmed = entries
    .map(coordOf)
    .filter((c) => ledger[c]?.startsWith('pending') === true && !opts.force);
  const fresh = opts.force ? [...entries] : entries.filter((e) => ledger[coordOf(e)] === undefined);
  if (opts.dryRun)
    return {
      selected: entries.length,
      replayed: 0,
      alreadyReplayed: entries.length - fresh.length,
      unconfirmed,
    };
  let replayed = 0;
  for (let i = 0; i < fresh.length; i += BATCH) {
    const chunk = fresh.slice(i, i + BATCH);
    const now = new Date().toISOString();
    const [claimed] = (await deps.redis.runScripts([
      {
        script: CLAIM_SCRIPT,
        keys: [deps.ledgerKey],
        args: [opts.force ? '1' : '0', now, ...chunk.map(coordOf)],
      },
    ])) as [number[]];
    const mine = chunk.filter((_, j) => claimed[j] === 1);
    const byTopic = new Map<string, DlqEntry[]>();
    for (const e of mine) byTopic.set(e.source.topic, [...(byTopic.get(e.source.topic) ?? []), e]);
    for (const [topic, es] of byTopic)
      await deps.producer.send(
        topic,
        es.map((e) => replayMessage(e, deps.dlqTopic)),
      );
    if (mine.length > 0)
      await deps.redis.runScripts([
        {
          script: CONFIRM_SCRIPT,
          keys: [deps.ledgerKey],
          args: [new Date().toISOString(), ...mine.map(coordOf)],
        },
      ]);
    replayed += mine.length;
    deps.onProgress?.(Math.min(i + BATCH, fresh.length), fresh.length);
  }
  return { selected: entries.length, replayed, alreadyReplayed: entries.length - fresh.length, unconfirmed };
}
