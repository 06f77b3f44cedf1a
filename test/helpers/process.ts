import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { nodeFlagsOf } from '../../src/cli/node-flags.js';
import type { Config } from '../../src/config/index.js';

export interface RunningPipeline {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Writes the config to a temp file and starts `streamscore run --config <file>` as its own process. */
export function spawnPipeline(config: Readonly<Config>, env: Record<string, string> = {}): RunningPipeline {
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-it-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const bin = 'bin/streamscore.js';
  const child = spawn(process.execPath, [...nodeFlagsOf(bin), bin, 'run', '--config', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // STREAMSCORE_TEST_LOG_DIR=<dir> also writes each process's whole output to <dir>/<pid>.log (post-mortems)
  const logDir = process.env.STREAMSCORE_TEST_LOG_DIR;
  const log = logDir === undefined || logDir === '' ? undefined : join(logDir, `${child.pid}.log`);
  const keep = (d: Buffer) => {
    out += d.toString();
    if (log !== undefined) appendFileSync(log, d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  after(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  return { child, exited, output: () => out };
}

/** SIGTERM, then wait for a clean exit. */
export async function stopPipeline(
  p: RunningPipeline,
  timeoutMs = 30000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
