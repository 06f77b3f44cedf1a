import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decimalConverter,
  decimalFromBytes,
  semanticConverter,
  variableScaleDecimal,
} from '../../../src/decode/connect-types.js';
import { ConversionError } from '../../../src/decode/reject.js';
import { dec } from './fixtures.js';

function convert(name: string, value: unknown, scale?: number): unknown {
  const c = semanticConverter(name, undefined, scale);
  assert.ok(c, `no converter for ${name}`);
  return c(value);
}

describe('Connect Decimal (unscaled two’s-complement big-endian + scale)', () => {
  const cases: Array<[bigint, number, string]> = [
    [123456n, 1234.56, 'AeJA'],
    [-1n, -0.01, '/w=='],
    [0n, 0, 'AA=='],
    [999999999999n, 9999999999.99, 'AOjUpQ//'],
    [-12345n, -123.45, 'z8c='],
  ];
  for (const [unscaled, expected, base64] of cases) {
    it(`reads ${expected} from bytes and from JsonConverter's base64 "${base64}"`, () => {
      assert.equal(dec(unscaled).toString('base64'), base64, 'fixture encoder agrees with Connect');
      assert.equal(decimalFromBytes(dec(unscaled), 2), expected);
      assert.equal(convert('org.apache.kafka.connect.data.Decimal', base64, 2), expected);
    });
  }

  it('reads values wider than 48 bits (BigInt path) to the nearest double', () => {
    assert.equal(decimalFromBytes(dec(1234567890123456789n), 2), Number('12345678901234567.89'));
    assert.equal(decimalFromBytes(dec(-1234567890123456789n), 4), Number('-123456789012345.6789'));
  });

  it('accepts double and string handling modes as they come', () => {
    const c = decimalConverter(2);
    assert.equal(c(1234.56), 1234.56);
    assert.equal(c('1234.56'), 1234.56);
    assert.equal(c('-0.01'), -0.01);
    assert.equal(c('-7'), -7);
    assert.ok(Number.isNaN(c('NaN') as number));
  });

  it('refuses an encoded decimal without a declared scale, and text that is not base64', () => {
    assert.throws(() => decimalConverter(undefined)('AeJA'), ConversionError);
    assert.throws(() => decimalConverter(2)('not base64!'), ConversionError);
  });

  it('reads VariableScaleDecimal structs from Avro (bytes) and JSON (base64)', () => {
    assert.equal(variableScaleDecimal({ scale: 3, value: dec(1234567n) }), 1234.567);
    assert.equal(variableScaleDecimal({ scale: 0, value: dec(42n).toString('base64') }), 42);
    assert.throws(() => variableScaleDecimal({ value: 'AA==' }), ConversionError);
  });
});

describe('Debezium time types → epoch millis', () => {
  it('MicroTimestamp floors microseconds to millis, also before 1970', () => {
    assert.equal(convert('io.debezium.time.MicroTimestamp', 1700000000123456), 1700000000123);
    assert.equal(convert('io.debezium.time.MicroTimestamp', -1500), -2);
  });

  it('NanoTimestamp beyond 2^53 (exact decimal text) floors to millis', () => {
    assert.equal(convert('io.debezium.time.NanoTimestamp', '1700000000123456789'), 1700000000123);
  });

  it('ZonedTimestamp parses ISO-8601 with microseconds and offsets; rejects garbage', () => {
    assert.equal(
      convert('io.debezium.time.ZonedTimestamp', '2024-03-01T10:15:30.123456Z'),
      Date.UTC(2024, 2, 1, 10, 15, 30, 123),
    );
    assert.equal(
      convert('io.debezium.time.ZonedTimestamp', '2024-03-01T11:15:30+01:00'),
      Date.UTC(2024, 2, 1, 10, 15, 30),
    );
    assert.throws(() => convert('io.debezium.time.ZonedTimestamp', 'yesterday'), ConversionError);
  });

  it('Date counts days since epoch; Timestamp is already millis', () => {
    assert.equal(convert('io.debezium.time.Date', 19000), Date.UTC(2022, 0, 8));
    assert.equal(convert('org.apache.kafka.connect.data.Timestamp', 1709288130123), 1709288130123);
  });

  it('MicroTime is millis since midnight; Avro logical types map the same way', () => {
    assert.equal(convert('io.debezium.time.MicroTime', 36930123456), 36930123);
    assert.equal(
      semanticConverter(undefined, 'timestamp-micros', undefined)?.(1700000000123456),
      1700000000123,
    );
    assert.equal(semanticConverter(undefined, 'date', undefined)?.(1), 86_400_000);
    assert.equal(
      semanticConverter(undefined, 'timestamp-millis', undefined)?.('2024-03-01T10:15:30Z'),
      Date.UTC(2024, 2, 1, 10, 15, 30),
    );
  });

  it('passes values of types without semantics through', () => {
    assert.equal(semanticConverter('io.debezium.data.Enum', undefined, undefined), null);
    assert.equal(semanticConverter(undefined, undefined, undefined), null);
  });
});
