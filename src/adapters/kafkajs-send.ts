/**
 * The producer's send (kafkajs/src/producer/sendMessages.js), rewritten to fix a loss of messages when a
 * partition's leader moves during a send. kafkajs 2.2.4 remembers, across the retries of one send, which
 * *brokers* have answered, and on a retry sends only to brokers without an answer. When a broker dies
 * after another broker of the same send answered, and the dead broker's partitions move to the one that
 * answered, the retry sends nothing for them and the send resolves as if they were written: their
 * messages are dropped, silently. Seen here on a three-broker cluster (test/integration/production-
 * topics.test.ts): 28 input records of the partition whose leader was SIGKILLed were missing from the
 * topic; inside a transaction the same would commit a window without some of its output.
 *
 * This version remembers acknowledged *partitions*: every attempt groups the messages of the partitions
 * not yet acknowledged by their current leaders (metadata refreshed when stale), sends one request per
 * leader, and marks a partition done only when its leader's request succeeded; an attempt's requests all
 * settle before the next attempt, so a partition is never sent again while an earlier request for it may
 * still be written (kafkajs's own retry could: a duplicate with new sequence numbers, seen on the same
 * three-broker test as two copies of one prediction event in a committed transaction). The rest is as kafkajs
 * does it: sequence numbers taken before a request and given back when it fails (idempotence), partitions
 * added to the transaction before the request, one request per broker at a time (the broker lock), and
 * the same retry rules.
 */

/** What this module needs of kafkajs's cluster, broker and EOS manager (kafkajs 2.2.4 internals). */
interface PartitionMetadata {
  readonly partitionId: number;
  readonly leader: number | null | undefined;
}
interface ProduceTopicData<M> {
  readonly topic: string;
  readonly partitions: Array<{ partition: number; messages: M[]; firstSequence?: number }>;
}
interface ProduceResponse {
  readonly topics: ReadonlyArray<{
    readonly topicName: string;
    readonly partitions: ReadonlyArray<Record<string, unknown> & { readonly partition: number }>;
  }>;
}
interface Broker<M> {
  produce(request: {
    transactionalId: string | undefined;
    producerId: unknown;
    producerEpoch: unknown;
    acks: number;
    timeout: number;
    compression: unknown;
    topicData: Array<ProduceTopicData<M>>;
  }): Promise<ProduceResponse>;
}
interface Cluster<M> {
  refreshMetadataIfNecessary(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(args: { nodeId: string }): Promise<Broker<M>>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  removeBroker(args: { host: string; port: number }): void;
  isConnected(): boolean;
  connect(): Promise<void>;
}
interface EosManager<M> {
  acquireBrokerLock(broker: Broker<M>): Promise<void>;
  releaseBrokerLock(broker: Broker<M>): Promise<void>;
  isTransactional(): boolean;
  addPartitionsToTransaction(topicData: Array<ProduceTopicData<M>>): Promise<void>;
  getSequence(topic: string, partition: number): number;
  updateSequence(topic: string, partition: number, increment: number): void;
  getTransactionalId(): string;
  getProducerId(): unknown;
  getProducerEpoch(): unknown;
}
interface Logger {
  debug(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
}
type Retrier = <T>(
  fn: (bail: (e: Error) => void, retryCount: number, retryTime: number) => Promise<T>,
) => Promise<T>;
type Partitioner<M> = (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: M }) => number;

interface KafkaError extends Error {
  readonly retriable?: boolean;
  readonly type?: string;
  readonly host?: string;
  readonly port?: number;
}

export interface SendDeps {
  /** kafkajs's own: UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_FOR_PARTITION. */
  readonly staleMetadata: (e: KafkaError) => boolean;
  /** kafkajs's KafkaJSMetadataNotLoaded (retriable; the retry refreshes metadata). */
  readonly metadataNotLoaded: (message: string) => Error;
  readonly groupMessagesPerPartition: <M>(args: {
    topic: string;
    partitionMetadata: PartitionMetadata[];
    messages: readonly M[];
    partitioner: Partitioner<M>;
  }) => Record<number, M[]>;
}

export type ProduceResult = Record<string, unknown> & {
  readonly topicName: string;
  readonly partition: number;
};

const REFRESH_ON = new Set([
  'KafkaJSMetadataNotLoaded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
]);

/** A replacement for kafkajs's sendMessages module (a factory of the same shape). */
export function createSendMessages(deps: SendDeps) {
  return <M>({
      logger,
      cluster,
      partitioner,
      eosManager,
      retrier,
    }: {
      logger: Logger;
      cluster: Cluster<M>;
      partitioner: Partitioner<M>;
      eosManager: EosManager<M>;
      retrier: Retrier;
    }) =>
    async ({
      acks,
      timeout,
      compression,
      topicMessages,
    }: {
      acks: number;
      timeout: number;
      compression: unknown;
      topicMessages: ReadonlyArray<{ topic: string; messages: readonly M[] }>;
    }): Promise<ProduceResult[]> => {
      /** Acknowledged partitions of this send (`topic\0partition`) and their answers. */
      const acked = new Map<string, ProduceResult[]>();
      const key = (topic: string, partition: number) => `${topic}\0${partition}`;

      const sendTo = async (nodeId: string, topicData: Array<ProduceTopicData<M>>): Promise<void> => {
        const broker = await cluster.findBroker({ nodeId });
        await eosManager.acquireBrokerLock(broker);
        try {
          if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
          for (const { topic, partitions } of topicData)
            for (const entry of partitions) {
              entry.firstSequence = eosManager.getSequence(topic, entry.partition);
              eosManager.updateSequence(topic, entry.partition, entry.messages.length);
            }
          let response: ProduceResponse;
          try {
            response = await broker.produce({
              transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              timeout,
              compression,
              topicData,
            });
          } catch (e) {
            // not written (or not known to be): the sequence numbers are taken again by the retry
            for (const { topic, partitions } of topicData)
              for (const entry of partitions)
                eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
            throw e;
          }
          const results: ProduceResult[] =
            acks === 0
              ? []
              : response.topics.flatMap(({ topicName, partitions }) =>
                  partitions.map((p) => ({ topicName, ...p })),
                );
          for (const { topic, partitions } of topicData)
            for (const { partition } of partitions)
              acked.set(
                key(topic, partition),
                results.filter((r) => r.topicName === topic && r.partition === partition),
              );
        } finally {
          await eosManager.releaseBrokerLock(broker);
        }
      };

      /** One attempt: every partition not acknowledged yet, to its current leader. */
      const attempt = async (): Promise<void> => {
        await cluster.refreshMetadataIfNecessary();
        const perLeader = new Map<string, Map<string, ProduceTopicData<M>>>();
        for (const { topic, messages } of topicMessages) {
          const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
          if (partitionMetadata.length === 0) {
            logger.debug('Producing to topic without metadata', { topic });
            throw deps.metadataNotLoaded('Producing to topic without metadata');
          }
          const grouped = deps.groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner });
          for (const [p, list] of Object.entries(grouped)) {
            const partition = Number(p);
            if (acked.has(key(topic, partition))) continue;
            const leader = partitionMetadata.find((m) => m.partitionId === partition)?.leader;
            // kafkajs dropped messages of a partition it had no metadata for; refresh and try again instead
            if (leader === null || leader === undefined)
              throw deps.metadataNotLoaded(`no leader known for ${topic}/${partition}`);
            const byTopic = perLeader.get(String(leader)) ?? new Map<string, ProduceTopicData<M>>();
            perLeader.set(String(leader), byTopic);
            const data = byTopic.get(topic) ?? { topic, partitions: [] };
            byTopic.set(topic, data);
            data.partitions.push({ partition, messages: list });
          }
        }
        // every request of this attempt settles before the next attempt groups what is left: a retry that
        // re-sent a partition whose request is still in flight would take new sequence numbers, and the
        // broker would keep both copies (a duplicate inside a committed transaction)
        const settled = await Promise.allSettled(
          [...perLeader].map(([nodeId, byTopic]) => sendTo(nodeId, [...byTopic.values()])),
        );
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      };

      return retrier(async (bail, retryCount, retryTime) => {
        await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
        try {
          await attempt();
          return [...acked.values()].flat();
        } catch (caught) {
          const e = caught as KafkaError;
          if (e.name === 'KafkaJSConnectionClosedError' && e.host !== undefined && e.port !== undefined)
            cluster.removeBroker({ host: e.host, port: e.port });
          if (!cluster.isConnected()) {
            logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, { retryCount, retryTime });
            await cluster.connect();
            await cluster.refreshMetadata();
            throw e;
          }
          if (
            deps.staleMetadata(e) ||
            REFRESH_ON.has(e.name) ||
            (e.name === 'KafkaJSProtocolError' && e.retriable === true)
          ) {
            logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime });
            await cluster.refreshMetadata();
            throw e;
          }
          logger.error(e.message, { retryCount, retryTime });
          if (e.retriable === true) throw e;
          bail(e);
          return [];
        }
      });
    };
}
