import { readFileSync } from 'node:fs';
import { isStreamscoreError } from '../errors/index.js';
import { helpText, parseCommandArgs } from './args.js';
import type { Command } from './args.js';
import { acls } from './commands/acls.js';
import { configShow } from './commands/config.js';
import { schemasCheck, schemasRegister } from './commands/schemas.js';
import { dlqInspect, dlqReplay } from './commands/dlq.js';
import { lookup } from './commands/lookup.js';
import { modelsCompare, modelsList, modelsPromote, modelsRollback, modelsShow } from './commands/models.js';
import { replay } from './commands/replay.js';
import { rescore } from './commands/rescore.js';
import { timers } from './commands/timers.js';
import { run } from './commands/run.js';
import { topicsApply, topicsPlan } from './commands/topics.js';
import { verify } from './commands/verify.js';

const COMMANDS: readonly Command[] = [
  run,
  lookup,
  topicsPlan,
  topicsApply,
  schemasCheck,
  schemasRegister,
  dlqInspect,
  dlqReplay,
  modelsList,
  modelsShow,
  modelsPromote,
  modelsRollback,
  modelsCompare,
  verify,
  replay,
  rescore,
  timers,
  acls,
  configShow,
];

export function registerCommand(cmd: Command): void {
  (COMMANDS as Command[]).push(cmd);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: streamscore <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary.split('. ')[0]}`),
    '',
    'Run `streamscore <command> --help` for its options. `streamscore --version` prints the version.',
  ].join('\n');
}

/** Entry point; returns the process exit code (0 ok, 1 failure or pending changes, 2 usage/config error). */
export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(usage());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    console.log(version());
    return 0;
  }
  const cmd =
    COMMANDS.find((c) => c.name === `${first} ${second ?? ''}`) ?? COMMANDS.find((c) => c.name === first);
  if (cmd === undefined) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0) {
      console.error(
        `streamscore ${first}: expected one of ${group.map((c) => c.name.split(' ')[1]).join(', ')}${
          second === undefined ? '' : `, got "${second}"`
        }`,
      );
    } else {
      console.error(`streamscore: unknown command "${first}"\n\n${usage()}`);
    }
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  try {
    const parsed = parseCommandArgs(cmd, rest);
    if (parsed.help) {
      console.log(helpText(cmd));
      return 0;
    }
    return await cmd.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (isStreamscoreError(err)) {
      console.error(`streamscore ${cmd.name}: [${err.code}] ${err.message}`);
      return err.code === 'SS_CLI_USAGE' || err.code === 'SS_CONFIG_INVALID' || err.code === 'SS_CONFIG_FILE'
        ? 2
        : 1;
    }
    console.error(
      `streamscore ${cmd.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return 1;
  }
}
