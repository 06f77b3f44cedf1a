// The alert rules in ops/prometheus are valid Prometheus rules, and each one fires on its condition and
// stays quiet on the nearest healthy case (promtool's own rule unit tests, alerts.test.yml).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const RULES = join(ROOT, 'ops/prometheus/alerts.yml');
const TESTS = join(ROOT, 'ops/prometheus/alerts.test.yml');

function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

describe('Prometheus alert rules (ops/prometheus/alerts.yml)', () => {
  before(() => {
    // installs Debian's prometheus package (for promtool) when it is missing
    execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'promtool'], { stdio: 'inherit' });
  });

  it('pass promtool check rules, and the compose Prometheus config that loads them passes check config', () => {
    assert.match(promtool('check', 'rules', RULES), /SUCCESS/);
    assert.match(promtool('check', 'config', join(ROOT, 'ops/prometheus/prometheus.yml')), /SUCCESS/);
  });

  it('fire on their conditions and stay quiet otherwise (promtool test rules)', () => {
    assert.match(promtool('test', 'rules', TESTS), /SUCCESS/);
  });

  it('every alert has a firing case and a quiet case in the rule tests', () => {
    const rules = parse(readFileSync(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string }> }>;
    };
    const tests = parse(readFileSync(TESTS, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of rules.groups.flatMap((g) => g.rules)) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert}: no case where it fires`,
      );
      assert.ok(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert}: no case where it stays quiet`,
      );
    }
  });
});
