/**
 * A private Kafka cluster of several nodes (KRaft, each node broker and controller), replicated the way
 * production is (topics/env/production.yaml and docs/security.md): default.replication.factor 3,
 * min.insync.replicas 2, the offsets topic and transaction log at 3 replicas with min ISR 2, unclean leader
 * election off. Each node can be SIGKILLed and started again on its ports and data.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { killChild } from './child.js';
import {
  defaultKafkaVersion,
  formatStorage,
  kafkaJava,
  kafkaLib,
  newClusterId,
  TEST_BROKER_TUNING,
} from './kafka-server.js';
import { freePort } from './redis-server.js';

export interface ClusterNode {
  readonly id: number;
  readonly broker: string;
  /** SIGKILL, and wait for the process to end. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers. */
  start(): Promise<void>;
}

export interface PrivateKafkaCluster {
  readonly brokers: string[];
  readonly nodes: readonly ClusterNode[];
  /** Resolves once `count` brokers are registered with the controller quorum. */
  waitBrokers(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function registeredBrokers(brokers: string[]): Promise<number> {
  const admin = createKafkaClient({
    brokers,
    clientId: 'it-cluster-probe',
    ssl: false,
    connectionTimeoutMs: 1000,
    transactionTimeoutMs: 60000,
  }).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.controller === null ? 0 : c.brokers.length;
  } catch {
    return 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startPrivateKafkaCluster(
  size = 3,
  version = defaultKafkaVersion(),
): Promise<PrivateKafkaCluster> {
  const lib = kafkaLib(version);
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-kafka-cluster-'));
  const ports: Array<{ broker: number; controller: number }> = [];
  for (let i = 0; i < size; i++) ports.push({ broker: await freePort(), controller: await freePort() });
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
  const java = kafkaJava(lib, dir);
  const clusterId = newClusterId(java);
  const nodes: ClusterNode[] = [];
  const children = new Map<number, ChildProcess>();
  for (const [i, p] of ports.entries()) {
    const id = i + 1;
    const nodeDir = join(dir, `node-${id}`);
    mkdirSync(nodeDir);
    const props = join(nodeDir, 'server.properties');
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        `node.id=${id}`,
        `controller.quorum.voters=${voters}`,
        `listeners=PLAINTEXT://127.0.0.1:${p.broker},CONTROLLER://127.0.0.1:${p.controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${p.broker}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${join(nodeDir, 'data')}`,
        `default.replication.factor=${size}`,
        'min.insync.replicas=2',
        'unclean.leader.election.enable=false',
        `offsets.topic.replication.factor=${size}`,
        'offsets.topic.num.partitions=3',
        `transaction.state.log.replication.factor=${size}`,
        'transaction.state.log.min.isr=2',
        'transaction.state.log.num.partitions=3',
        `share.coordinator.state.topic.replication.factor=${size}`,
        'share.coordinator.state.topic.min.isr=2',
        ...TEST_BROKER_TUNING,
        '',
      ].join('\n'),
    );
    formatStorage(java, clusterId, props);
    const broker = `127.0.0.1:${p.broker}`;
    /** Spawns the node and resolves once it answers on its own listener (knowing the controller). */
    const start = async (): Promise<void> => {
      const child = spawn('java', [...kafkaJava(lib, nodeDir), 'kafka.Kafka', props], { stdio: 'ignore' });
      child.unref();
      children.set(id, child);
      const deadline = Date.now() + 120_000;
      while ((await registeredBrokers([broker])) === 0) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`node ${id} of the private Kafka cluster did not start (logs in ${dir})`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    nodes.push({ id, broker, kill: () => killChild(children.get(id)), start });
  }
  const brokers = nodes.map((n) => n.broker);
  const waitBrokers = async (count: number, timeoutMs = 120_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while ((await registeredBrokers(brokers)) < count) {
      const dead = [...children.entries()].filter(([, c]) => c.exitCode !== null).map(([id]) => id);
      if (Date.now() > deadline)
        throw new Error(
          `the private Kafka cluster has fewer than ${count} brokers after ${timeoutMs} ms${dead.length > 0 ? ` (node ${dead.join(', ')} exited)` : ''}; logs in ${dir}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  // a KRaft quorum needs a majority of its voters up: start them together (each waits for the quorum)
  await Promise.all(nodes.map((n) => n.start()));
  const stop = async (): Promise<void> => {
    await Promise.all([...children.values()].map((c) => killChild(c)));
  };
  process.once('exit', () => {
    for (const c of children.values()) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
  });
  await waitBrokers(size);
  return { brokers, nodes, waitBrokers, stop };
}
