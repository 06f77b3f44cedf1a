/**
 * Test-only hooks, read from the environment; unset in production.
 *
 * STREAMSCORE_TEST_CRASH_POINT names a point of the commit protocol ('before-redis-write',
 * 'after-redis-write' or 'before-commit'); once STREAMSCORE_TEST_CRASH_AFTER (default 1) windows have reached it, the process
 * kills itself with SIGKILL right there — the same as `kill -9` at that instant, but deterministic.
 *
 * STREAMSCORE_TEST_STALL_MS blocks the whole process (event loop included, like a long GC pause or a
 * SIGSTOP) for that long after each window's Redis write, so a test can freeze an instance mid-window.
 */
export function crashPointFromEnv(env: NodeJS.ProcessEnv): ((name: string) => void) | undefined {
  const point = env.STREAMSCORE_TEST_CRASH_POINT;
  const stallMs = Number(env.STREAMSCORE_TEST_STALL_MS ?? '0');
  if ((point === undefined || point === '') && !(stallMs > 0)) return undefined;
  let remaining = Number(env.STREAMSCORE_TEST_CRASH_AFTER ?? '1');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return (name) => {
    if (stallMs > 0 && name === 'before-redis-write') Atomics.wait(cell, 0, 0, stallMs);
    if (name !== point) return;
    remaining -= 1;
    if (remaining <= 0) {
      process.stderr.write(`streamscore: test crash point "${name}" reached, SIGKILL\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}

/**
 * STREAMSCORE_TEST_CONSUMER_CRASH makes the consumer itself fail, once, when the
 * STREAMSCORE_TEST_CONSUMER_CRASH_AFTER-th (default 1) batch arrives: the error escapes the pipeline's
 * batch handler to kafkajs, like a failure of the consumer rather than of a window.
 *  - 'restart': a crash kafkajs restarts from (it restarts when the crash's innermost cause is retriable):
 *    the consumer leaves the group and a new one joins.
 *  - 'fatal': a crash kafkajs does not restart from: nothing would consume any more.
 */
export function consumerCrashFromEnv(env: NodeJS.ProcessEnv): (() => void) | undefined {
  const kind = env.STREAMSCORE_TEST_CONSUMER_CRASH;
  if (kind !== 'restart' && kind !== 'fatal') return undefined;
  let remaining = Number(env.STREAMSCORE_TEST_CONSUMER_CRASH_AFTER ?? '1');
  return () => {
    remaining -= 1;
    if (remaining !== 0) return;
    process.stderr.write(`streamscore: test consumer crash (${kind})\n`);
    const cause = Object.assign(new Error(`test consumer crash (${kind})`), {
      retriable: kind === 'restart',
    });
    throw Object.assign(new Error(`test consumer crash (${kind})`, { cause }), { retriable: false });
  };
}
