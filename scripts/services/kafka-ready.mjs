// Readiness probe for the local Kafka broker, used by scripts/services.sh:
//   node scripts/services/kafka-ready.mjs <host:port> [timeoutMs]
// Exits 0 once the broker answers a metadata request (describeCluster) AND its group and transaction
// coordinators are usable: right after the first start, __consumer_offsets / __transaction_state are
// still being created and loaded ("coordinator load in progress"), and clients that start then stall.
// Exits 1 (with the last error on stderr) if that does not happen within timeoutMs.
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? '127.0.0.1:9092';
const timeoutMs = Number(process.argv[3] ?? 120_000);
const deadline = Date.now() + timeoutMs;

const kafka = new Kafka({
  clientId: 'streamscore-services-ready',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2_000,
  requestTimeout: 10_000,
  retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
});

async function probe() {
  const admin = kafka.admin();
  const producer = kafka.producer({
    transactionalId: 'streamscore-services-ready',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('describeCluster returned no brokers');
    // group coordinator: FindCoordinator + DescribeGroups (fails while __consumer_offsets is loading)
    await admin.describeGroups(['streamscore-services-ready']);
    // transaction coordinator: InitProducerId (fails while __transaction_state is loading)
    await producer.connect();
    const tx = await producer.transaction();
    await tx.abort();
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

let lastError = new Error('no attempt made');
while (Date.now() < deadline) {
  try {
    await probe();
    process.exit(0);
  } catch (error) {
    lastError = error;
    await sleep(1_000);
  }
}
console.error(`kafka at ${broker} not ready after ${timeoutMs} ms: ${lastError?.message ?? lastError}`);
process.exit(1);
