import { aclCommands, pipelineAcls } from '../../admin/acls.js';
import { loadConfig } from '../../config/index.js';
import { StreamscoreError } from '../../errors/index.js';
import type { Command } from '../args.js';

export const acls: Command = {
  name: 'acls',
  usage: 'acls [--config file] [--principal User:name] [--json]',
  summary:
    "Print the Kafka ACLs the pipeline's principal needs and nothing more (its input and output topics, its group and the `<group>.` prefix, its transactional ids), as kafka-acls.sh commands; docs/security.md explains each.",
  options: {
    config: { type: 'string', short: 'c' },
    principal: { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    config: 'pipeline config (YAML/JSON): topics, consumer.groupId, model.alias/challenger',
    principal: 'the principal to grant, e.g. User:streamscore (default: User:<kafka.sasl.username>)',
    json: 'print the entries as JSON instead of commands',
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
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
