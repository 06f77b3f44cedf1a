import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { StreamscoreError } from '../errors/index.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  /** Help text per option, shown by --help. */
  readonly optionHelp: Readonly<Record<string, string>>;
  readonly positionals?: { min: number; max: number; names: string };
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

export function helpText(cmd: Command): string {
  const lines = [`streamscore ${cmd.usage}`, '', cmd.summary, '', 'Options:'];
  for (const [name, spec] of Object.entries(cmd.options)) {
    const flag = `  --${name}${spec.type === 'string' ? ' <value>' : ''}${spec.short ? `, -${spec.short}` : ''}`;
    lines.push(`${flag.padEnd(30)} ${cmd.optionHelp[name] ?? ''}`);
  }
  lines.push(`${'  --help, -h'.padEnd(30)} show this help`);
  return lines.join('\n');
}

/** Parses argv strictly: unknown flags, missing values and extra positionals are usage errors. */
export function parseCommandArgs(
  cmd: Command,
  argv: string[],
):
  | { help: true }
  | { help: false; values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `${cmd.name}: ${(cause as Error).message}. See: streamscore ${cmd.name} --help`,
      {
        cause,
      },
    );
  }
  if (parsed.values.help === true) return { help: true };
  const pos = cmd.positionals ?? { min: 0, max: 0, names: '' };
  if (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max) {
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `${cmd.name}: expected ${pos.min === pos.max ? pos.min : `${pos.min}-${pos.max}`} argument(s) ${pos.names}, got ${
        parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')
      }. See: streamscore ${cmd.name} --help`,
    );
  }
  return {
    help: false,
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `--${name} must be a whole number >= ${min}, got "${String(raw)}"`,
    );
  }
  return n;
}
