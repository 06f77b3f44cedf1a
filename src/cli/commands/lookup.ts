import { loadConfig } from '../../config/index.js';
import { lookupClientFor } from '../../lookup/index.js';
import type { Command } from '../args.js';

export const lookup: Command = {
  name: 'lookup',
  usage: 'lookup <entity-id> [--config file]',
  summary:
    'Print the current prediction of one entity from Redis as JSON (with stale: true past valid_until). Exit 1 when there is none.',
  options: { config: { type: 'string', short: 'c' } },
  optionHelp: { config: 'pipeline config (YAML/JSON): Redis URL, key prefix and pipeline name' },
  positionals: { min: 1, max: 1, names: '<entity-id>' },
  async run(values, positionals) {
    const config = loadConfig(values.config as string | undefined);
    const client = lookupClientFor(config);
    try {
      const id = positionals[0] as string;
      const p = await client.get(id);
      if (p === null) {
        console.error(`no prediction for ${config.pipeline.entity} ${id} (never scored, or deleted)`);
        return 1;
      }
      console.log(JSON.stringify(p, null, 2));
      return 0;
    } finally {
      await client.close();
    }
  },
};
