// The Grafana dashboard (ops/grafana) queries only metrics the pipeline exports, with valid PromQL.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { PipelineMetrics } from '../../../src/observe/metrics.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Panel {
  readonly title: string;
  readonly targets: ReadonlyArray<{ readonly expr: string }>;
}
const dashboard = JSON.parse(readFileSync(join(ROOT, 'ops/grafana/dashboards/streamscore.json'), 'utf8')) as {
  panels: Panel[];
};
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

/** Every series name the pipeline's registry exports (histograms as _bucket/_sum/_count). */
async function exported(): Promise<Set<string>> {
  const m = new PipelineMetrics('churn');
  m.stateCache(() => ({ entities: 0, bytes: 0, hits: 0, misses: 0 }));
  m.modelInfo({ name: 'churn', version: '2', sha256: 'x', featureVersion: 'churn@1' });
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

describe('Grafana dashboard (ops/grafana/dashboards/streamscore.json)', () => {
  it('queries only metrics streamscore exports', async () => {
    const names = await exported();
    assert.ok(exprs.length > 10);
    for (const { panel, expr } of exprs) {
      for (const [name] of expr.matchAll(/streamscore_[a-z0-9_]+/g))
        assert.ok(names.has(name), `panel "${panel}": ${name} is not a streamscore metric`);
    }
  });

  it('holds valid PromQL (each expression checked by promtool as a recording rule)', () => {
    execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'promtool'], { stdio: 'inherit' });
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((e, i) => ({
            record: `dashboard:panel_${i}`,
            expr: e.expr.replaceAll('$pipeline', '.*').replaceAll('$__rate_interval', '1m'),
          })),
        },
      ],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'streamscore-dash-')), 'rules.yml');
    writeFileSync(file, stringify(rules));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
