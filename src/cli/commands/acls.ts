import { aclCommands, pipelineAcls, redisAclRules } from '../../admin/acls.js';
import { loadConfig } from '../../config/index.js';
import { StreamscoreError } from '../../errors/index.js';
import type { Command } from '../args.js';

export const acls: Command = {
  name: 'acls',
  usage: 'acls [--config file] [--principal User:name] [--json] | acls --redis [--config file]',
  summary:
    "Print the Kafka ACLs the pipeline's principal needs and nothing more (its input and output topics, its group and the `<group>.` prefix, its transactional ids), as kafka-acls.sh commands; with --redis, the Redis ACL users (the pipeline's, and a read-only lookup user) limited to redis.keyPrefix. docs/security.md explains each.",
  options: {
    config: { type: 'string', short: 'c' },
    principal: { type: 'string' },
    json: { type: 'boolean' },
    redis: { type: 'boolean' },
  },
  optionHelp: {
    config: 'pipeline config (YAML/JSON): topics, consumer.groupId, model.alias/challenger',
    principal: 'the principal to grant, e.g. User:streamscore (default: User:<kafka.sasl.username>)',
    json: 'print the entries as JSON instead of commands',
    redis:
      'print the Redis ACL SETUSER commands instead (user names from redis.username, else streamscore; the lookup user streamscore-lookup)',
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    if (values.redis === true) {
      const rules = redisAclRules(config);
      const user = config.redis.username ?? 'streamscore';
      console.log(
        [
          `# the pipeline (redis.username ${user}); replace <password>`,
          `ACL SETUSER ${user} on ><password> ${rules.pipeline}`,
          '# lookups (LookupClient, `streamscore lookup`): read-only, no scripts',
          `ACL SETUSER streamscore-lookup on ><password> ${rules.lookup}`,
        ].join('\n'),
      );
      return 0;
    }
    const given = values.principal as string | undefined;
    const principal =
      given ?? (config.kafka.sasl === undefined ? undefined : `User:${config.kafka.sasl.username}`);
    if (principal === undefined)
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        '--principal is required when the config has no kafka.sasl (e.g. --principal User:streamscore)',
      );
    if (!/^[A-Za-z]+:.+$/.test(principal))
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        `--principal must be <type>:<name>, e.g. User:streamscore, got "${principal}"`,
      );
    const entries = pipelineAcls(config);
    if (values.json === true) console.log(JSON.stringify({ principal, acls: entries }, null, 2));
    else console.log(aclCommands(entries, principal, config.kafka.brokers.join(',')).join('\n'));
    return 0;
  },
};
