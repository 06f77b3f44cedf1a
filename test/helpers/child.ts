import type { ChildProcess } from 'node:child_process';

/** SIGKILL (after SIGCONT, in case it was paused) and wait for the process to end; nothing if it already did. */
export async function killChild(c: ChildProcess | undefined): Promise<void> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGCONT');
  c.kill('SIGKILL');
  await gone;
}
