/**
 * The Kafka ACLs a pipeline's principal needs, and nothing more (docs/security.md): derived from the config,
 * so they name its own topics, group and transactional-id prefix. `streamscore acls` prints them as
 * `kafka-acls.sh` commands.
 *
 * What the pipeline does with each (operations that imply DESCRIBE are not listed twice):
 *  - input topics: fetch (READ); at start, their configs are looked at (DESCRIBE_CONFIGS);
 *  - output topics: transactional produce (WRITE); at start, max.message.bytes is read (DESCRIBE_CONFIGS);
 *  - the control topic, when `model.alias` is followed: read (READ, DESCRIBE_CONFIGS not needed);
 *  - its consumer group: join, fetch and commit offsets, offsets in transactions (READ);
 *  - groups `<group>.` (a Redis rebuild's replay, `rescore` progress, control-topic readers): READ and
 *    DELETE (throwaway groups are deleted after use);
 *  - transactional ids `<group>.` (one producer per input partition; `rescore` jobs): WRITE.
 */
import type { Config } from '../config/index.js';

export type AclResource = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID';
export type AclOperation = 'READ' | 'WRITE' | 'DELETE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS';

export interface AclEntry {
  readonly resource: AclResource;
  readonly name: string;
  readonly pattern: 'LITERAL' | 'PREFIXED';
  readonly operation: AclOperation;
  /** Why the pipeline needs it (printed next to the command). */
  readonly why: string;
}

export function pipelineAcls(config: Readonly<Config>): AclEntry[] {
  const out: AclEntry[] = [];
  const add = (
    resource: AclResource,
    name: string,
    pattern: AclEntry['pattern'],
    operations: readonly AclOperation[],
    why: string,
  ) => {
    for (const operation of operations) out.push({ resource, name, pattern, operation, why });
  };
  const inputs = [...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic);
  for (const t of inputs) add('TOPIC', t, 'LITERAL', ['READ', 'DESCRIBE_CONFIGS'], 'input: fetched');
  const outputs = [
    config.outputs.predictions,
    config.outputs.audit,
    config.outputs.dlq,
    config.outputs.quarantine,
    ...(config.model.challenger === undefined ? [] : [config.outputs.shadow]),
  ];
  for (const t of outputs)
    add('TOPIC', t, 'LITERAL', ['WRITE', 'DESCRIBE_CONFIGS'], 'output: written in transactions');
  if (config.model.alias !== undefined)
    add('TOPIC', config.control.topic, 'LITERAL', ['READ'], 'model promotions followed');
  const group = config.consumer.groupId;
  add('GROUP', group, 'LITERAL', ['READ'], 'the consumer group; offsets committed in transactions');
  add(
    'GROUP',
    `${group}.`,
    'PREFIXED',
    ['READ', 'DELETE'],
    'throwaway groups: Redis rebuild, rescore progress, control-topic readers',
  );
  add(
    'TRANSACTIONAL_ID',
    `${group}.`,
    'PREFIXED',
    ['WRITE'],
    'one transactional producer per input partition',
  );
  return out;
}

const CLI_RESOURCE: Record<AclResource, string> = {
  TOPIC: '--topic',
  GROUP: '--group',
  TRANSACTIONAL_ID: '--transactional-id',
};

const CLI_OPERATION: Record<AclOperation, string> = {
  READ: 'Read',
  WRITE: 'Write',
  DELETE: 'Delete',
  DESCRIBE: 'Describe',
  DESCRIBE_CONFIGS: 'DescribeConfigs',
};

/** The entries as `kafka-acls.sh` commands (one per resource, its operations together). */
export function aclCommands(entries: readonly AclEntry[], principal: string, bootstrap: string): string[] {
  const byResource = new Map<string, { e: AclEntry; ops: string[]; why: string }>();
  for (const e of entries) {
    const k = `${e.resource}\u0000${e.pattern}\u0000${e.name}`;
    const cur = byResource.get(k);
    if (cur === undefined) byResource.set(k, { e, ops: [CLI_OPERATION[e.operation]], why: e.why });
    else cur.ops.push(CLI_OPERATION[e.operation]);
  }
  return [...byResource.values()].map(
    ({ e, ops, why }) =>
      `# ${why}\nkafka-acls.sh --bootstrap-server ${bootstrap} --command-config admin.properties --add ` +
      `--allow-principal '${principal}' ${ops.map((o) => `--operation ${o}`).join(' ')} ` +
      `${CLI_RESOURCE[e.resource]} '${e.name}'${e.pattern === 'PREFIXED' ? ' --resource-pattern-type prefixed' : ''}`,
  );
}

/**
 * Redis ACL rules (ACL SETUSER / aclfile syntax, without the user name and password) for the pipeline's
 * user and for a read-only lookup user, limited to the keys under `redis.keyPrefix`.
 *  - pipeline: the Lua scripts (EVALSHA, EVAL on a flushed script cache) and the commands they call (GET,
 *    SET, EXISTS, PEXPIRE, TIME, HGET, HMGET, HSET, HSETNX, HDEL), plain reads (GET, HGET, HGETALL), SCAN
 *    (rebuild, rescore), and what ioredis sends on connecting (CLIENT SETNAME, SELECT, INFO for its ready
 *    check), PING and QUIT;
 *  - lookup: HGETALL on the keys, read-only (%R~), and the connection commands; no script, no write.
 * On Redis Cluster (`redis.cluster`) both also need CLUSTER SLOTS (the client's slot map) and ASKING (a
 * slot half-migrated), and the pipeline DEL (dropping an epoch a node lost; src/sink/epoch.ts).
 */
export function redisAclRules(config: Readonly<Config>): { pipeline: string; lookup: string } {
  const keys = `${config.redis.keyPrefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  const connection = `+ping +info +select +client|setname +quit${config.redis.cluster ? ' +cluster|slots +asking' : ''}`;
  return {
    pipeline: `resetkeys ~${keys} resetchannels -@all +evalsha +eval +get +set +exists +pexpire +time +hget +hmget +hgetall +hset +hsetnx +hdel${config.redis.cluster ? ' +del' : ''} +scan ${connection}`,
    lookup: `resetkeys %R~${keys} resetchannels -@all +hgetall ${connection}`,
  };
}
