import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  byVersion,
  compatibilityProblems,
  decodePromotion,
  encodePromotion,
  keptStateFor,
  listVersions,
  ModelSlot,
  promotionKey,
  resolveInitialModel,
} from '../../../src/lifecycle/index.js';
import { parseConfig } from '../../../src/config/index.js';
import type { ModelPromotion, ServingModel } from '../../../src/lifecycle/index.js';
import { loadModel } from '../../../src/models/index.js';
import type { LoadedModel } from '../../../src/models/index.js';
import { createScorer } from '../../../src/score/index.js';

const MODELS = fileURLToPath(new URL('../../../../models', import.meta.url));

/** A store with the committed churn/1..3 and two broken copies of 3: 4 (other semantics), 5 (corrupt onnx). */
async function storeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streamscore-store-'));
  for (const v of ['1', '2', '3'])
    await cp(join(MODELS, 'churn', v), join(dir, 'churn', v), { recursive: true });
  for (const v of ['4', '5'])
    await cp(join(MODELS, 'churn', '3'), join(dir, 'churn', v), { recursive: true });
  const json4 = join(dir, 'churn', '4', 'model.json');
  const m4 = JSON.parse(await readFile(json4, 'utf8'));
  await writeFile(
    json4,
    JSON.stringify({
      ...m4,
      version: '4',
      semantics: { ...m4.semantics, score_meaning: 'probability of default' },
    }),
  );
  const json5 = join(dir, 'churn', '5', 'model.json');
  await writeFile(json5, JSON.stringify({ ...JSON.parse(await readFile(json5, 'utf8')), version: '5' }));
  const onnx5 = join(dir, 'churn', '5', 'model.onnx');
  const bytes = await readFile(onnx5);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3);
  await writeFile(onnx5, bytes);
  return dir;
}

const promotion = (to: string, sha256: string, from: string | null = '2'): ModelPromotion => ({
  kind: 'model-promotion',
  pipeline: 'churn',
  model: 'churn',
  alias: 'champion',
  to,
  sha256,
  from,
  by: 'ops',
  reason: 'weekly retrain',
  at: '2026-12-02T06:00:00.000Z',
});

describe('model lifecycle', () => {
  let dir: string;
  const loaded: LoadedModel[] = [];
  const load = async (v: string) => {
    const m = await loadModel(dir, 'churn', v);
    loaded.push(m);
    return m;
  };
  before(async () => {
    dir = await storeDir();
  });
  after(async () => {
    await Promise.all(loaded.map((m) => m.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('a retrained version with the same features is compatible; one reading state the instance does not keep is not', async () => {
    const [v1, v2, v3, v4] = await Promise.all(['1', '2', '3', '4'].map(load));
    const m1 = v1 as LoadedModel;
    const m2 = v2 as LoadedModel;
    assert.deepEqual(compatibilityProblems(m2, v3 as LoadedModel, keptStateFor(m2.featureSpec)), []);
    // the profile-only version reads a subset of what a churn/2 instance keeps
    assert.deepEqual(compatibilityProblems(m2, m1, keptStateFor(m2.featureSpec)), []);
    // but an instance started on churn/1 keeps no transaction fields
    const up = compatibilityProblems(m1, m2, keptStateFor(m1.featureSpec));
    assert.ok(
      up.some((p) => /event fields the running state does not keep: amount/.test(p)),
      up.join('\n'),
    );
    const meaning = compatibilityProblems(m2, v4 as LoadedModel, keptStateFor(m2.featureSpec));
    assert.ok(
      meaning.some((p) => /its score means "probability of default"/.test(p)),
      meaning.join('\n'),
    );
    const sha = compatibilityProblems(m2, v3 as LoadedModel, keptStateFor(m2.featureSpec), '0'.repeat(64));
    assert.ok(
      sha.some((p) => /the promotion recorded 0000/.test(p)),
      sha.join('\n'),
    );
  });

  it('the slot swaps in a compatible version, keeps the running one on a refusal, and ignores a repeat', async () => {
    const serve = (m: LoadedModel): ServingModel => ({
      loaded: m,
      scorer: createScorer(m),
      featureSpec: m.featureSpec,
      stamp: {
        name: m.manifest.name,
        version: m.manifest.version,
        sha256: m.sha256,
        trainingRunId: m.manifest.training_run_id,
        featureVersion: `${m.featureSpec.name}@${m.featureSpec.version}`,
      },
      drift: null,
      explainer: null,
    });
    const first = await load('2');
    const slot = new ModelSlot(serve(first), { load, serve, kept: keptStateFor(first.featureSpec) });
    const v3sha = (await listVersions(dir, 'churn')).find((v) => v.version === '3')?.sha256 as string;
    const corrupt = await slot.apply(promotion('5', v3sha));
    assert.equal(corrupt.outcome, 'refused');
    assert.match(corrupt.outcome === 'refused' ? corrupt.problems.join() : '', /cannot load it: .*sha256/);
    assert.equal(slot.current.stamp.version, '2');
    const missing = await slot.apply(promotion('9', v3sha));
    assert.equal(missing.outcome, 'refused');
    assert.equal((await slot.apply(promotion('4', v3sha))).outcome, 'refused');
    assert.equal(slot.current.stamp.version, '2');
    const held = slot.current;
    assert.deepEqual(await slot.apply(promotion('3', v3sha)), { outcome: 'applied', from: '2', to: '3' });
    assert.equal(slot.current.stamp.version, '3');
    // a window that opened before the switch still scores with the model it took
    const row = new Float32Array(held.featureSpec.features.length);
    assert.equal((await held.scorer.score(row, 1)).scores.length, 1);
    assert.equal((await slot.apply(promotion('3', v3sha, '3'))).outcome, 'unchanged');
    await slot.close();
  });

  it('at start an alias target serves when it loads with its sha256 and fits model.version; else the version it replaced, else model.version', async () => {
    const config = (version: string, alias?: string) =>
      parseConfig({ model: { dir, version, ...(alias === undefined ? {} : { alias }) } }, {});
    const v3sha = (await listVersions(dir, 'churn')).find((v) => v.version === '3')?.sha256 as string;
    const v1sha = (await listVersions(dir, 'churn')).find((v) => v.version === '1')?.sha256 as string;
    const view = (p?: ModelPromotion) => ({
      aliases: new Map(p === undefined ? [] : [['champion', p]]),
      ends: new Map([[0, 7n]]),
    });
    const served = async (version: string, p?: ModelPromotion, alias: string | null = 'champion') => {
      const a = alias ?? undefined;
      const r = await resolveInitialModel(config(version, a), a === undefined ? undefined : view(p), load);
      return { version: r.loaded.manifest.version, refused: r.refused.map((x) => x.version), kept: r.kept };
    };
    assert.deepEqual((await served('2', promotion('3', v3sha), null)).version, '2', 'pinned');
    assert.deepEqual((await served('2')).version, '2', 'never promoted');
    assert.deepEqual((await served('2', promotion('3', v3sha))).version, '3');
    const badSha = await served('2', promotion('3', 'f'.repeat(64)));
    assert.deepEqual([badSha.version, badSha.refused], ['2', ['3']]);
    const meaning = await served('2', promotion('4', v3sha, '3'));
    assert.deepEqual([meaning.version, meaning.refused], ['3', ['4']], 'the version it replaced');
    // churn/1 reads less than churn/2 keeps: it serves, and the state stays churn/2's, so 2 can come back
    const down = await served('2', promotion('1', v1sha));
    assert.equal(down.version, '1');
    assert.ok(down.kept.event.includes('amount'), 'the state keeps what model.version reads');
    // a baseline that does not load: the alias target is taken on its sha256 alone
    assert.equal((await served('9', promotion('3', v3sha, '9'))).version, '3');
    await assert.rejects(served('9', promotion('5', v3sha, '9')), /churn\/9|cannot load/);
  });

  it('the store lists versions in version order with what their model.json says', async () => {
    const versions = await listVersions(dir, 'churn');
    assert.deepEqual(
      versions.map((v) => v.version),
      ['1', '2', '3', '4', '5'],
    );
    assert.equal(versions[1]?.featureVersion, 'churn_full@2');
    assert.deepEqual(['10', 'b', '9', 'a', '2'].sort(byVersion), ['2', '9', '10', 'a', 'b']);
  });

  it('a control record round-trips; other keys are not promotions; a malformed one is named', () => {
    const p = promotion('3', 'a'.repeat(64));
    const key = promotionKey('churn', 'churn', 'champion');
    assert.deepEqual(decodePromotion(Buffer.from(key), encodePromotion(p), '0@1'), p);
    assert.equal(decodePromotion(Buffer.from('pause/churn'), Buffer.from('{}'), '0@2'), undefined);
    assert.equal(decodePromotion(Buffer.from(key), null, '0@3'), undefined);
    assert.throws(
      () => decodePromotion(Buffer.from(key), Buffer.from('{"kind":"model-promotion"}'), '0@4'),
      (e: Error & { code?: string }) => e.code === 'SS_CONTROL_INVALID' && /0@4/.test(e.message),
    );
    assert.throws(
      () => decodePromotion(Buffer.from(promotionKey('churn', 'churn', 'other')), encodePromotion(p), '0@5'),
      /has key .*other but names .*champion/,
    );
  });
});
