import { loadConfig } from '../../config/index.js';
import { createRegistryClient } from '../../adapters/registry.js';
import { checkSchemas, loadSchemaManifest, registerSchemas } from '../../admin/schemas.js';
import type { Command, OptionSpec } from '../args.js';

const common: OptionSpec = {
  config: { type: 'string', short: 'c' },
  manifest: { type: 'string' },
  prefix: { type: 'string' },
};
const commonHelp = {
  config: 'config file (YAML/JSON) for the registry URL; default: built-in defaults + STREAMSCORE_* env',
  manifest: 'schema manifest (default: schemas/schemas.yaml)',
  prefix: 'topic prefix; subjects follow TopicNameStrategy so they are prefixed too',
};

function entriesOf(values: Record<string, unknown>) {
  return loadSchemaManifest(
    (values.manifest as string | undefined) ?? 'schemas/schemas.yaml',
    (values.prefix as string | undefined) ?? '',
  );
}

export const schemasCheck: Command = {
  name: 'schemas check',
  usage: 'schemas check [--config file] [--manifest schemas/schemas.yaml] [--prefix p]',
  summary:
    "Test every schema for compatibility with its subject's latest version. Exit 1 on any incompatible change.",
  options: common,
  optionHelp: commonHelp,
  async run(values) {
    const registry = createRegistryClient(loadConfig(values.config as string | undefined).registry);
    const outcomes = await checkSchemas(registry, entriesOf(values));
    for (const o of outcomes) {
      console.log(
        `${o.status.padEnd(12)} ${o.entry.subject} (${o.entry.compatibility}) ${o.messages.join('; ')}`.trimEnd(),
      );
    }
    return outcomes.some((o) => o.status === 'incompatible') ? 1 : 0;
  },
};

export const schemasRegister: Command = {
  name: 'schemas register',
  usage: 'schemas register [--config file] [--manifest schemas/schemas.yaml] [--prefix p]',
  summary:
    'Register every schema under its subject (after checking all of them; nothing is registered if one is incompatible).',
  options: common,
  optionHelp: commonHelp,
  async run(values) {
    const registry = createRegistryClient(loadConfig(values.config as string | undefined).registry);
    for (const r of await registerSchemas(registry, entriesOf(values))) {
      console.log(`registered ${r.entry.subject} id=${r.id}`);
    }
    return 0;
  },
};
