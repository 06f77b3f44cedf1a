import { spawn } from 'node:child_process';

/** Runs `streamscore <args>` as its own process; stdout and stderr apart, and together in `all`. */
export function cli(
  args: readonly string[],
): Promise<{ code: number | null; out: string; err: string; all: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/streamscore.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
    child.once('exit', (code) => resolve({ code, out, err, all }));
  });
}
