import { spawn } from 'node:child_process';

/**
 * Runs `streamscore <args>` as its own process (with `env` added to this one's); stdout and stderr apart,
 * and together in `all`.
 */
export function cli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; all: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/streamscore.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    let all = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      all += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      all += d.toString();
    });
    child.once('exit', (code, signal) => resolve({ code, signal, out, err, all }));
  });
}
