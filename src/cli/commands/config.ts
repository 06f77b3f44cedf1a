import { stringify } from 'yaml';
import { applyEnvOverrides, ENV, loadConfig, readConfigFile, redactConfig } from '../../config/index.js';
import type { Command } from '../args.js';

export const configShow: Command = {
  name: 'config show',
  usage: 'config show [--config file] [--json]',
  summary:
    'Print the effective configuration (file, STREAMSCORE_* variables and their _FILE forms, defaults) with every secret masked, and which variables set what. Exit 2 when it is invalid.',
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  optionHelp: {
    config: 'pipeline config (YAML/JSON); default STREAMSCORE_CONFIG, else the defaults',
    json: 'print JSON instead of YAML',
  },
  async run(values) {
    const file = (values.config as string | undefined) ?? process.env[ENV.config];
    const config = loadConfig(file);
    const applied = new Map<string, string>();
    applyEnvOverrides(
      (file === undefined ? {} : readConfigFile(file)) as Record<string, unknown>,
      process.env,
      applied,
    );
    const shown = redactConfig(config);
    if (values.json === true) {
      console.log(
        JSON.stringify(
          { source: file ?? null, fromEnvironment: Object.fromEntries(applied), config: shown },
          null,
          2,
        ),
      );
      return 0;
    }
    console.log(`# effective configuration of ${file ?? '(no file: defaults)'}; secrets masked`);
    for (const [path, name] of applied) console.log(`# ${path} from ${name}`);
    console.log(stringify(shown).trimEnd());
    return 0;
  },
};
