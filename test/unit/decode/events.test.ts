import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { RecordDecoder } from '../../../src/decode/index.js';
import {
  assertRejected,
  customerSchemas,
  frame,
  record,
  TRANSACTION_SCHEMA,
  transactionType,
  TXN_ID,
} from './fixtures.js';

const TXN = {
  txn_id: 't-000193',
  customer_id: 42,
  amount: 129.9,
  type: 'debit',
  channel: 'card',
  mcc: '5411',
  declined: false,
  event_time: 1709288130123,
};

function eventsDecoder(format: 'avro' | 'json'): RecordDecoder {
  return createDecoder({
    kind: 'events',
    options: { topic: 'transactions', format },
    writerSchemas: customerSchemas(),
    declaredValueSchema: TRANSACTION_SCHEMA,
  });
}

const at = (partial: Parameters<typeof record>[0]) =>
  record({ topic: 'transactions', partition: 1, offset: '77', ...partial });

describe('transaction events', () => {
  it('decode the same from Avro and JSON, keyed by the UTF-8 customer id', async () => {
    const expected = {
      kind: 'event',
      entityId: '42',
      eventId: 't-000193',
      eventTimeMs: 1709288130123,
      fields: TXN,
    };
    const avro = await eventsDecoder('avro').decode(
      at({ key: Buffer.from('42'), value: frame(TXN_ID, transactionType, TXN) }),
    );
    const json = await eventsDecoder('json').decode(
      at({ key: Buffer.from('42'), value: Buffer.from(JSON.stringify(TXN)) }),
    );
    assert.deepStrictEqual(avro, expected);
    assert.deepStrictEqual(json, expected);
  });

  it('fall back to the id field, and to topic/partition/offset for the event id', async () => {
    const { txn_id: _t, ...anonymous } = TXN;
    const r = await eventsDecoder('json').decode(at({ value: Buffer.from(JSON.stringify(anonymous)) }));
    assert.deepStrictEqual([r.entityId, r.kind === 'event' && r.eventId], ['42', 'transactions/1/77']);
  });

  it('accept an ISO-8601 event time', async () => {
    const value = Buffer.from(JSON.stringify({ ...TXN, event_time: '2024-03-01T10:15:30.123Z' }));
    const r = await eventsDecoder('json').decode(at({ value }));
    assert.equal(r.kind === 'event' && r.eventTimeMs, Date.UTC(2024, 2, 1, 10, 15, 30, 123));
  });

  it('reject a missing event time as SS_FIELD_MISSING, an unreadable one as SS_FIELD_TYPE', async () => {
    const { event_time: _e, ...untimed } = TXN;
    await assertRejected(
      () => eventsDecoder('json').decode(at({ value: Buffer.from(JSON.stringify(untimed)) })),
      'SS_FIELD_MISSING',
      /event_time/,
    );
    await assertRejected(
      () =>
        eventsDecoder('json').decode(
          at({ value: Buffer.from(JSON.stringify({ ...TXN, event_time: 'noon' })) }),
        ),
      'SS_FIELD_TYPE',
    );
    // digits beyond a finite number: not a time (it would have become an Infinity clock)
    await assertRejected(
      () =>
        eventsDecoder('json').decode(
          at({ value: Buffer.from(JSON.stringify({ ...TXN, event_time: '9'.repeat(400) })) }),
        ),
      'SS_FIELD_TYPE',
    );
  });

  it('reject an event without key or customer_id as SS_MISSING_ENTITY_ID', async () => {
    const { customer_id: _c, ...orphan } = TXN;
    await assertRejected(
      () => eventsDecoder('json').decode(at({ value: Buffer.from(JSON.stringify(orphan)) })),
      'SS_MISSING_ENTITY_ID',
    );
  });

  it('reject a null value (events have no tombstones) and a non-object value', async () => {
    await assertRejected(
      () => eventsDecoder('json').decode(at({ key: Buffer.from('42') })),
      'SS_CONTRACT_VIOLATION',
    );
    await assertRejected(
      () => eventsDecoder('json').decode(at({ value: Buffer.from('[1]') })),
      'SS_DECODE_FAILED',
    );
  });
});
