/**
 * The operator's way through a bad contract: records wrongly dead-lettered are counted by `dlq inspect`,
 * put back on their source partitions by `dlq replay` once the contract is fixed, and scored — the end state
 * equals the clean stream's oracle. A second replay sends nothing (the ledger), `--dry-run` sends nothing,
 * and `--force` sends a record again (its event is deduplicated by id: nothing changes).
 */
import { cli } from '../helpers/cli.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { readTopic, topicSize, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { TransactionsContract } from '../helpers/contracts.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

test('dlq inspect counts by reason and source; dlq replay after the fix loses nothing and never sends a record twice unless forced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlq-tools-'));
  const contract = new TransactionsContract();
  contract.limitAmount(10);
  const base = await createTestEnv('dlq-tools', { dlq: { policy: 'dlq' } });
  const [, txTopic] = inputTopics(base.config);
  const config = contract.configOf(base);
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const stream = generateStream({
    seed: 61,
    customers: 30,
    transactionsPerCustomer: 4,
    partitions: 3,
    deleteRate: 0.1,
  });
  await produceToInputs(base.kafka, config, stream);
  const first = spawnPipeline(config);
  await waitCaughtUp(base.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(first)).code, 0, first.output().slice(-2000));
  const refused = stream.transactions.filter((t) => t.value.amount > 10).length;
  assert.ok(refused > 10);

  const inspect = await cli(['dlq', 'inspect', '--config', configFile, '--json', '--samples', '2']);
  assert.equal(inspect.code, 0, inspect.err);
  const report = JSON.parse(inspect.out) as {
    total: number;
    byReason: Array<[string, number]>;
    bySource: Array<[string, number]>;
    samples: Array<{ reason: string; message: string; decoded: string }>;
  };
  assert.equal(report.total, refused);
  assert.deepEqual(report.byReason, [['SS_FIELD_RANGE', refused]]);
  assert.equal(
    report.bySource.reduce((n, [, k]) => n + k, 0),
    refused,
  );
  assert.ok(report.bySource.every(([s]) => s.startsWith(`${txTopic}/`)));
  assert.equal(report.samples.length, 2);
  assert.match(report.samples[0]?.message ?? '', /"amount" is .*above its maximum 10/);
  assert.match(report.samples[0]?.decoded ?? '', /"kind":"event"/, 'the sample is shown decoded');
  const text = await cli(['dlq', 'inspect', '--config', configFile]);
  assert.match(text.out, new RegExp(`${refused}\\s+SS_FIELD_RANGE`));

  // the fix, then a dry run (nothing sent), the replay, and a second replay (nothing sent)
  contract.restore();
  const before = await topicSize(base.kafka, txTopic);
  const dry = await cli(['dlq', 'replay', '--config', configFile, '--dry-run']);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, new RegExp(`${refused} selected; would replay ${refused}; 0 replayed before`));
  assert.equal(await topicSize(base.kafka, txTopic), before);
  const replay = await cli(['dlq', 'replay', '--config', configFile, '--reason', 'SS_FIELD_RANGE']);
  assert.equal(replay.code, 0, replay.err);
  assert.match(replay.out, new RegExp(`replayed ${refused};`));
  assert.match(replay.err, new RegExp(`replayed ${refused}/${refused}`), 'progress on stderr');
  assert.equal(await topicSize(base.kafka, txTopic), before + refused);
  const again = await cli(['dlq', 'replay', '--config', configFile]);
  assert.match(again.out, new RegExp(`replayed 0; ${refused} replayed before`));
  assert.equal(await topicSize(base.kafka, txTopic), before + refused);
  const replayed = (await readTopic(base.kafka, txTopic, { idleMs: 1000 })).filter(
    (m) => m.headers['ss.replay.of'] !== undefined,
  );
  assert.equal(replayed.length, refused);
  assert.ok(
    replayed.every((m) => m.headers['ss.error.code'] === undefined),
    'the reason headers are not sent back',
  );

  // forced: one record again; its event id is already applied, so nothing changes
  const one = `${String(replayed[0]?.headers['ss.replay.of']).split('/').pop()}`;
  const forced = await cli(['dlq', 'replay', '--config', configFile, '--at', one, '--force']);
  assert.match(forced.out, /1 selected; replayed 1;/);

  const second = spawnPipeline(config);
  await waitCaughtUp(base.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(second)).code, 0, second.output().slice(-2000));
  assert.equal(
    (await readTopic(base.kafka, config.outputs.dlq, { idleMs: 1000 })).length,
    refused,
    'nothing new in the DLQ',
  );
  await assertEndStateMatchesOracle(base.kafka, config, stream, { first, second });

  const usage = await cli(['dlq', 'replay', '--config', configFile, '--at', 'nonsense']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--at takes partition@offset/);
});
