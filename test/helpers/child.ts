import type { ChildProcess } from 'node:child_process';

/**
 * SIGKILL (after SIGCONT, in case it was paused) and wait for the process to end; nothing if it already did.
 * The child is ref'd first: the private services unref theirs so they never keep a test process alive, and
 * waiting for the exit of an unref'd child with nothing else pending lets the event loop run dry — node:test
 * then cancels the test ("the event loop has already resolved"; kafka-compat failed so after its oracle).
 */
export async function killChild(c: ChildProcess | undefined): Promise<void> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  c.ref();
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGCONT');
  c.kill('SIGKILL');
  await gone;
}
