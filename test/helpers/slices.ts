import { createRegistryClient } from '../../src/adapters/registry.js';
import type { SchemaRegistryClient } from '../../src/adapters/registry.js';
import { produceSample } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import type { TestEnv } from './services.js';

export interface SliceProducer {
  /** Produces the next slice (both topics, Avro); nothing once every slice is out. */
  next(): Promise<void>;
  /** Slices produced so far. */
  readonly produced: number;
  readonly done: boolean;
}

/**
 * A generated stream put on a test env's input topics in `slices` consecutive parts (each topic cut at
 * the same fractions, in send order), so a test can keep work coming while it disturbs the pipeline.
 */
export function sliceProducer(
  env: TestEnv,
  stream: SampleStream,
  slices: number,
  registry: SchemaRegistryClient = createRegistryClient(env.config.registry),
): SliceProducer {
  let produced = 0;
  return {
    async next() {
      if (produced >= slices) return;
      const part = <T>(all: readonly T[]) =>
        all.slice(
          Math.floor((produced * all.length) / slices),
          Math.floor(((produced + 1) * all.length) / slices),
        );
      const slice = { cdc: part(stream.cdc), transactions: part(stream.transactions) };
      produced += 1;
      await produceSample(env.kafka, registry, slice, {
        cdcTopic: env.config.inputs.cdc[0]?.topic as string,
        transactionsTopic: env.config.inputs.events[0]?.topic as string,
        format: 'avro',
      });
    },
    get produced() {
      return produced;
    },
    get done() {
      return produced >= slices;
    },
  };
}
