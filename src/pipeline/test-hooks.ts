/**
 * Test-only crash points. When STREAMSCORE_TEST_CRASH_POINT names a point of the commit protocol and
 * STREAMSCORE_TEST_CRASH_AFTER (default 1) windows have reached it, the process kills itself with SIGKILL
 * right there — the same as `kill -9` at that instant, but deterministic. Unset in production.
 */
export function crashPointFromEnv(env: NodeJS.ProcessEnv): ((name: string) => void) | undefined {
  const point = env.STREAMSCORE_TEST_CRASH_POINT;
  if (point === undefined || point === '') return undefined;
  let remaining = Number(env.STREAMSCORE_TEST_CRASH_AFTER ?? '1');
  return (name) => {
    if (name !== point) return;
    remaining -= 1;
    if (remaining <= 0) {
      process.stderr.write(`streamscore: test crash point "${name}" reached, SIGKILL\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
