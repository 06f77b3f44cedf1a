import type { InputConsumerOptions } from '../adapters/kafka-io.js';
import type { Config } from '../config/index.js';

/** The input consumer's settings, from the configuration (the benchmark reads them through this too). */
export function inputConsumerOptions(config: Readonly<Config>): InputConsumerOptions {
  const { groupId, sessionTimeoutMs, heartbeatIntervalMs, fromBeginning, partitionsConcurrently } =
    config.consumer;
  // The fetch is the window's clock: the broker answers once minBytes are ready or maxDelayMs passed.
  // One window's worth per fetch: 4x kept ~60k records in flight and cost memory, not throughput.
  const { minBytes, maxBytes, maxDelayMs: maxWaitMs } = config.window;
  return {
    groupId,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    fromBeginning,
    partitionsConcurrently,
    fetch: { minBytes, maxBytes, maxWaitMs },
  };
}
