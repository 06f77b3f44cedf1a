/**
 * The generated stream is the oracle of the integration tests and the benchmark: it must be reproducible,
 * look like Debezium's output (LSN order, tombstones, snapshot markers, replica identity) and contain the
 * tricky cases it promises, in the partition order a consumer will read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateStream,
  kafkaPartition,
  type CdcRecord,
  type CustomerRow,
  type SampleRecord,
  type SampleStream,
} from '../../../src/sample/index.js';

const OPTS = {
  seed: 11,
  customers: 400,
  transactionsPerCustomer: 8,
  deleteRate: 0.1,
  duplicateRate: 0.02,
  outOfOrderRate: 0.03,
};
const stream = generateStream(OPTS);
const originals = (s: SampleStream) => s.cdc.filter((r) => r.resend === null);

function byPartition<R extends SampleRecord>(records: readonly R[]): Map<number, R[]> {
  const out = new Map<number, R[]>();
  for (const r of records) {
    const list = out.get(r.partition) ?? [];
    list.push(r);
    out.set(r.partition, list);
  }
  return out;
}

const withoutResend = (r: SampleRecord) => ({ ...r, resend: null, atMs: 0 });

describe('sample generator: determinism', () => {
  it('gives a deep-equal stream for the same options, a different one for another seed', () => {
    assert.deepStrictEqual(generateStream(OPTS), stream);
    assert.notDeepStrictEqual(generateStream({ ...OPTS, seed: 12 }).cdc, stream.cdc);
  });

  it('keeps the base data when only a rate knob changes (independent PRNG streams)', () => {
    const quiet = generateStream({ ...OPTS, duplicateRate: 0, outOfOrderRate: 0 });
    assert.deepStrictEqual(quiet.cdc, originals(stream));
    assert.ok(quiet.transactions.every((r) => r.resend === null));
  });

  it('rejects options it cannot honour', () => {
    assert.throws(() => generateStream({ seed: 1, customers: -1 }));
    assert.throws(() => generateStream({ seed: 1, customers: 1, duplicateRate: 2 }));
  });
});

describe('sample generator: Debezium semantics', () => {
  const base = originals(stream).filter((r) => r.value !== null);
  const snapshot = base.filter((r) => r.value!.op === 'r');
  const streaming = base.filter((r) => r.value!.op !== 'r');

  it('snapshot reads share the snapshot LSN, marked true … last, before every streamed change', () => {
    assert.ok(snapshot.length > 200);
    assert.equal(new Set(snapshot.map((r) => r.value!.source.lsn)).size, 1);
    assert.ok(snapshot.slice(0, -1).every((r) => r.value!.source.snapshot === 'true'));
    assert.equal(snapshot.at(-1)!.value!.source.snapshot, 'last');
    assert.ok(snapshot.every((r) => r.value!.before === null));
    assert.ok(streaming.every((r) => r.value!.source.snapshot === 'false'));
    assert.ok(streaming[0]!.value!.source.lsn > snapshot[0]!.value!.source.lsn);
    const none = generateStream({ ...OPTS, snapshot: false });
    assert.ok(none.cdc.every((r) => r.value?.op !== 'r'));
    assert.equal(none.summary.finalRows.length + none.summary.deletedIds.length, OPTS.customers);
  });

  it('streams LSNs strictly increasing in commit order, realistic and below 2^53, ts_ms following them', () => {
    for (let i = 1; i < streaming.length; i++) {
      const a = streaming[i - 1]!.value!;
      const b = streaming[i]!.value!;
      assert.ok(b.source.lsn > a.source.lsn, `LSN ${b.source.lsn} after ${a.source.lsn}`);
      assert.ok(b.source.ts_ms >= a.source.ts_ms);
      assert.ok(b.ts_ms >= a.ts_ms && b.ts_ms >= b.source.ts_ms);
      if (a.source.txId === b.source.txId)
        assert.equal(a.source.ts_ms, b.source.ts_ms, 'one transaction, one commit time');
      else assert.ok(b.source.txId > a.source.txId);
    }
    for (const r of base) {
      const { lsn, ts_ms, ts_us, ts_ns } = r.value!.source;
      assert.ok(lsn > 23_000_000_000 && Number.isSafeInteger(lsn));
      assert.equal(Math.floor(ts_us / 1000), ts_ms);
      assert.equal(ts_ns, `${ts_us}000`);
    }
    assert.ok(stream.summary.cdc.multiRowTransactions > 0);
  });

  it('follows every delete with a tombstone of the same key, next in its partition', () => {
    const deletes = streaming.filter((r) => r.value!.op === 'd');
    assert.ok(deletes.length >= 20);
    for (const records of byPartition(stream.cdc).values()) {
      records.forEach((r, i) => {
        if (r.value?.op !== 'd') return;
        const next = records[i + 1];
        assert.ok(
          next !== undefined && next.value === null && next.key.id === r.key.id,
          `tombstone after ${r.key.id}`,
        );
        assert.equal(next.resend, r.resend);
      });
    }
    assert.equal(originals(stream).filter((r) => r.value === null).length, deletes.length);
  });

  it('uses the default replica identity: the primary key alone as before of updates and deletes', () => {
    const keyOnly = (row: CustomerRow | null) => Object.entries(row ?? {}).filter(([, x]) => x !== null);
    for (const r of streaming) {
      const v = r.value!;
      if (v.op === 'c') assert.equal(v.before, null);
      if (v.op === 'u') assert.deepStrictEqual(keyOnly(v.before), [['id', r.key.id]]);
      if (v.op === 'd') {
        assert.equal(v.after, null);
        assert.deepStrictEqual(keyOnly(v.before), [['id', r.key.id]]);
      }
    }
    const bare = generateStream({ ...OPTS, updateBefore: 'none' });
    assert.ok(bare.cdc.filter((r) => r.value?.op === 'u').every((r) => r.value!.before === null));
    assert.ok(bare.cdc.filter((r) => r.value?.op === 'd').every((r) => r.value!.before?.id === r.key.id));
  });

  it('re-inserts some deleted ids later, with a higher LSN', () => {
    const deletedAt = new Map<number, number>();
    let reinserts = 0;
    for (const r of streaming) {
      const v = r.value!;
      if (v.op === 'd') deletedAt.set(r.key.id, v.source.lsn);
      if (v.op === 'c' && deletedAt.has(r.key.id)) {
        assert.ok(v.source.lsn > deletedAt.get(r.key.id)!);
        reinserts++;
      }
    }
    assert.ok(reinserts > 0);
    assert.equal(reinserts, stream.summary.cdc.reinserts);
  });

  it('writes rows with realistic, edgy column values', () => {
    const rows = base.map((r) => r.value!.after).filter((r): r is CustomerRow => r !== null);
    const balances = rows.map((r) => r.balance).filter((b): b is number => b !== null);
    assert.ok(
      balances.every((b) => Math.abs(b) <= 9_999_999_999.99 && Number((b * 100).toFixed(0)) / 100 === b),
    );
    assert.ok(balances.some((b) => b < 0));
    assert.ok(balances.some((b) => b > 1_000_000));
    for (const field of ['balance', 'age', 'region', 'utilisation', 'birth_date'] as const) {
      assert.ok(
        rows.some((r) => r[field] === null),
        `${field} is null sometimes`,
      );
    }
    const births = rows.map((r) => r.birth_date).filter((b): b is number => b !== null);
    assert.ok(births.every((b) => b % 86_400_000 === 0));
    assert.ok(
      births.some((b) => b < 0),
      'birth dates before 1970',
    );
    assert.ok(rows.every((r) => ['north', 'south', 'east', 'west', null].includes(r.region)));
    assert.ok(rows.every((r) => ['mass', 'affluent', 'private', null].includes(r.segment)));
  });
});

describe('sample generator: partitions and resends', () => {
  it('puts each record on the partition Kafka’s default partitioner gives its id, send times in order', () => {
    for (const r of [...stream.cdc, ...stream.transactions]) {
      const id = r.topic === 'cdc' ? String(r.key.id) : r.key;
      assert.equal(r.partition, kafkaPartition(id, 6));
    }
    for (const list of [stream.cdc, stream.transactions]) {
      for (let i = 1; i < list.length; i++) assert.ok(list[i]!.atMs >= list[i - 1]!.atMs);
    }
    assert.equal(byPartition(stream.cdc).size, 6);
  });

  it('re-sends runs of exact copies of earlier records of the same partition', () => {
    for (const list of [stream.cdc, stream.transactions] as SampleRecord[][]) {
      let longestRun = 0;
      let run = 0;
      for (const r of list) {
        run = r.resend === 'duplicate' ? run + 1 : 0;
        longestRun = Math.max(longestRun, run);
      }
      assert.ok(longestRun >= 2, 'a redelivery is a run, not a single record');
      for (const records of byPartition(list).values()) {
        records.forEach((r, i) => {
          if (r.resend !== 'duplicate') return;
          const earlier = records.slice(0, i).filter((x) => x.resend === null);
          assert.ok(
            earlier.some((x) => JSON.stringify(withoutResend(x)) === JSON.stringify(withoutResend(r))),
          );
        });
      }
    }
    assert.equal(stream.cdc.filter((r) => r.resend === 'duplicate').length, stream.summary.cdc.duplicates);
    assert.ok(stream.summary.transactions.duplicates > 0);
  });

  it('re-sends older changes after newer ones of the same row, with their original LSN', () => {
    const stale = stream.cdc.filter((r) => r.resend === 'stale');
    assert.ok(stale.length >= 5);
    assert.ok(
      stale.some((r) => stream.summary.deletedIds.includes(r.key.id)),
      'including after a delete',
    );
    for (const records of byPartition(stream.cdc).values()) {
      const newest = new Map<number, number>();
      for (const r of records) {
        if (r.value === null) continue;
        const seen = newest.get(r.key.id) ?? -1;
        if (r.resend === 'stale') {
          assert.ok(r.value.source.lsn < seen, 'arrives after a newer change');
          assert.ok(
            originals(stream).some(
              (o) => JSON.stringify(withoutResend(o)) === JSON.stringify(withoutResend(r)),
            ),
          );
        }
        newest.set(r.key.id, Math.max(seen, r.value.source.lsn));
      }
    }
  });

  it('reduces, with LSN fencing, to the true final table (the oracle the pipeline is held to)', () => {
    const state = new Map<number, { lsn: number; row: CustomerRow | null }>();
    for (const records of byPartition(stream.cdc).values()) {
      for (const r of records as CdcRecord[]) {
        if (r.value === null) continue; // the delete event before it carries the LSN
        const held = state.get(r.key.id);
        if (held !== undefined && held.lsn >= r.value.source.lsn) continue;
        state.set(r.key.id, { lsn: r.value.source.lsn, row: r.value.after });
      }
    }
    const live = [...state.values()]
      .flatMap((s) => (s.row === null ? [] : [s.row]))
      .sort((a, b) => a.id - b.id);
    const deleted = [...state]
      .filter(([, s]) => s.row === null)
      .map(([id]) => id)
      .sort((a, b) => a - b);
    assert.deepStrictEqual(live, stream.summary.finalRows);
    assert.deepStrictEqual(
      deleted,
      [...stream.summary.deletedIds].sort((a, b) => a - b),
    );
  });
});

describe('sample generator: transactions', () => {
  const tx = stream.transactions;
  const unique = tx.filter((r) => r.resend === null);

  it('spreads event times over the period, mostly in order, some late', () => {
    assert.ok(
      unique.every((r) => r.value.event_time >= stream.startMs && r.value.event_time <= stream.endMs),
    );
    assert.equal(stream.endMs - stream.startMs, 40 * 86_400_000);
    assert.ok(stream.summary.transactions.late > 0);
    assert.ok(stream.summary.transactions.late < unique.length / 10);
    assert.equal(new Set(unique.map((r) => r.value.txn_id)).size, unique.length);
    assert.ok(unique.every((r) => r.key === String(r.value.customer_id)));
  });

  it('includes events for customers not inserted yet, already deleted, or never in the table', () => {
    const firstChange = new Map<number, number>();
    const cdcIds = new Set<number>();
    for (const r of stream.cdc) {
      cdcIds.add(r.key.id);
      if (r.value !== null && !firstChange.has(r.key.id)) firstChange.set(r.key.id, r.value.source.ts_ms);
    }
    assert.ok(unique.some((r) => r.value.event_time < (firstChange.get(r.value.customer_id) ?? -Infinity)));
    assert.ok(unique.some((r) => !cdcIds.has(r.value.customer_id)));
    const t = stream.summary.transactions;
    assert.ok(t.beforeInsert > 0 && t.afterDelete > 0 && t.unknownCustomer > 0);
  });
});
