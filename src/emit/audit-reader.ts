/**
 * Reads audit events with the schema they were written with (the Confluent frame's schema id, fetched
 * from the registry once per id), resolved to this build's schema: events written by an older build (an
 * audit schema without the newer optional fields) read with those fields at their defaults.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { AuditEventV1 } from './types.js';

const auditType = avro.Type.forSchema(
  JSON.parse(
    readFileSync(new URL('../../../schemas/audit-value.avsc', import.meta.url), 'utf8'),
  ) as avro.Schema,
);

export function auditReader(registry: {
  avroSchema(id: number): Promise<unknown>;
}): (value: Buffer) => Promise<AuditEventV1> {
  const resolvers = new Map<number, Promise<avro.Resolver>>();
  return async (value) => {
    const id = value.readUInt32BE(1);
    let r = resolvers.get(id);
    if (r === undefined) {
      r = registry
        .avroSchema(id)
        .then((schema) => auditType.createResolver(avro.Type.forSchema(schema as avro.Schema)));
      resolvers.set(id, r);
    }
    return auditType.fromBuffer(value.subarray(5), await r) as AuditEventV1;
  };
}
