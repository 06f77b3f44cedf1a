/**
 * Kafka's own consumer as a reader: kafka-console-consumer (org.apache.kafka.tools.consumer.ConsoleConsumer)
 * from the Kafka jars scripts/services.sh resolved into .cache/, run with the same `java`. A reader that is
 * not kafkajs, so a test of exactly-once output does not rest on kafkajs's read_committed filter.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { defaultKafkaVersion } from './kafka-server.js';

export interface ConsoleRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
}

function kafkaLib(): string {
  return join(process.cwd(), '.cache', `kafka-${defaultKafkaVersion()}`, 'lib');
}

/**
 * Every record of `topic` a `read_committed` Java consumer sees (partition, offset and key), read from the
 * beginning until no record arrived for `idleMs`.
 */
export function readWithConsoleConsumer(
  brokers: readonly string[],
  topic: string,
  idleMs = 8000,
): Promise<ConsoleRecord[]> {
  const args = [
    // log4j's default configuration would print to stdout, among the records
    '-Dorg.apache.logging.log4j.level=OFF',
    '-cp',
    `${kafkaLib()}/*`,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    '--bootstrap-server',
    brokers.join(','),
    '--topic',
    topic,
    '--from-beginning',
    '--isolation-level',
    'read_committed',
    '--timeout-ms',
    String(idleMs),
    '--property',
    'print.partition=true',
    '--property',
    'print.offset=true',
    '--property',
    'print.key=true',
    '--property',
    'print.value=false',
  ];
  return new Promise((resolve, reject) => {
    execFile('java', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`kafka-console-consumer failed: ${err.message}\n${stderr.slice(-2000)}`));
        return;
      }
      const out: ConsoleRecord[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('Partition:')) continue; // a log line (checked by the total below)
        const m = /^Partition:(\d+)\tOffset:(\d+)\t(.*)$/.exec(line);
        if (m === null) {
          reject(new Error(`unexpected kafka-console-consumer line: ${JSON.stringify(line)}`));
          return;
        }
        out.push({ partition: Number(m[1]), offset: m[2] as string, key: m[3] as string });
      }
      const total = /Processed a total of (\d+) messages/.exec(stderr)?.[1];
      if (total === undefined || Number(total) !== out.length) {
        reject(new Error(`kafka-console-consumer processed ${total} records but printed ${out.length}`));
        return;
      }
      resolve(out);
    });
  });
}
