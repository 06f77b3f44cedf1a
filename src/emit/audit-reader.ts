/**
 * Reads our own output events (audit, predictions) with the schema they were written with (the Confluent
 * frame's schema id, fetched from the registry once per id), resolved to this build's schema: events
 * written by an older build (a schema without the newer optional fields) read with those fields at their
 * defaults.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { AuditEventV1, PredictionEventV1 } from './types.js';

type WriterSchemas = { avroSchema(id: number): Promise<unknown> };

function framedReader<T>(file: string, registry: WriterSchemas): (value: Buffer) => Promise<T> {
  const type = avro.Type.forSchema(
    JSON.parse(readFileSync(new URL(`../../../schemas/${file}`, import.meta.url), 'utf8')) as avro.Schema,
  );
  const resolvers = new Map<number, Promise<avro.Resolver>>();
  return async (value) => {
    const id = value.readUInt32BE(1);
    let r = resolvers.get(id);
    if (r === undefined) {
      r = registry
        .avroSchema(id)
        .then((schema) => type.createResolver(avro.Type.forSchema(schema as avro.Schema)));
      resolvers.set(id, r);
    }
    return type.fromBuffer(value.subarray(5), await r) as T;
  };
}

export function auditReader(registry: WriterSchemas): (value: Buffer) => Promise<AuditEventV1> {
  return framedReader<AuditEventV1>('audit-value.avsc', registry);
}

export function predictionReader(registry: WriterSchemas): (value: Buffer) => Promise<PredictionEventV1> {
  return framedReader<PredictionEventV1>('predictions-value.avsc', registry);
}
