-- The sample bank schema of the local CDC source, created in database `bank` by `bash scripts/cdc.sh up`
-- (as user streamscore, who then owns it: Debezium's publication.autocreate.mode=filtered needs the table's
-- owner to CREATE PUBLICATION ... FOR TABLE). Idempotent: it only creates what is missing.
--
-- The columns match the project's Avro schema schemas/cdc.bank.customers-value.avsc (Debezium's output with
-- decimal.handling.mode=precise and the default time.precision.mode=adaptive):
--   bigint -> long, integer -> int, smallint -> int16, numeric(12,2) -> Decimal(precision 12, scale 2),
--   double precision -> double, text -> string, timestamp -> io.debezium.time.MicroTimestamp,
--   timestamptz -> io.debezium.time.ZonedTimestamp, date -> io.debezium.time.Date.
-- region and segment take the values of src/sample/types.ts (Region, Segment).
-- REPLICA IDENTITY DEFAULT: an update's `before` is null and a delete's `before` carries the key only.

CREATE SCHEMA IF NOT EXISTS bank;

CREATE TABLE IF NOT EXISTS bank.customers (
  id            bigint PRIMARY KEY,
  tenure_months integer,
  age           integer,
  products_held smallint,
  balance       numeric(12, 2),
  credit_limit  numeric(12, 2),
  utilisation   double precision,
  region        text CONSTRAINT customers_region_check CHECK (region IN ('north', 'south', 'east', 'west')),
  segment       text CONSTRAINT customers_segment_check CHECK (segment IN ('mass', 'affluent', 'private')),
  created_at    timestamp,
  updated_at    timestamptz,
  birth_date    date
);

ALTER TABLE bank.customers REPLICA IDENTITY DEFAULT;
