/**
 * The Kubernetes example (deploy/kubernetes/streamscore.yaml) is valid twice over: every object against the
 * Kubernetes or KEDA OpenAPI schema (kubernetes-models' validators), and against streamscore itself — the
 * ConfigMap is a config streamscore accepts, every *_FILE variable is one streamscore reads and names a key
 * of a mounted Secret, probes hit the endpoints on the config's port, the shutdown fits the grace period,
 * the PodDisruptionBudget and Service select the Deployment's pods, and the autoscaler watches the
 * pipeline's group and stops at the production overlay's partition count.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadOverlay, applyOverlay } from '../../../src/admin/topic-env.js';
import { loadTopicSpecs } from '../../../src/admin/topic-spec.js';
import { ENV, parseConfig } from '../../../src/config/index.js';

const FILE = 'deploy/kubernetes/streamscore.yaml';

interface Obj {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly [k: string]: unknown;
}

const models: Record<string, new (o: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJS() as Obj);
const find = <T>(kind: string, name?: string): T => {
  const o = docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  assert.ok(o, `${FILE} has a ${kind}${name === undefined ? '' : ` named ${name}`}`);
  return o as unknown as T;
};

interface Container {
  args: string[];
  env: Array<{ name: string; value: string }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
}
interface DeploymentObj {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

const deployment = find<DeploymentObj>('Deployment', 'streamscore');
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;
const configMap = find<{ data: Record<string, string> }>('ConfigMap', 'streamscore-config');
const secretKeys = (name: string): string[] =>
  Object.keys(find<{ stringData?: object; data?: object }>('Secret', name).stringData ?? {});

test('every object of the Kubernetes example validates against its Kubernetes or KEDA schema', () => {
  assert.ok(docs.length >= 7);
  for (const d of docs) {
    const Model = models[`${d.apiVersion}/${d.kind}`];
    assert.ok(Model, `${d.kind} ${d.metadata.name}: no schema known for ${d.apiVersion}`);
    assert.doesNotThrow(() => new Model(d as never).validate(), `${d.kind} ${d.metadata.name}`);
  }
  // the validator does refuse a broken object (so the loop above proves something): a wrong type, a
  // missing required field. It does not refuse unknown fields (kubectl's server-side validation would).
  const broken = structuredClone(docs.find((d) => d.kind === 'Deployment')) as unknown as DeploymentObj;
  broken.spec.replicas = 'three' as unknown as number;
  assert.throws(() => new Deployment(broken as never).validate(), /replicas must be integer/);
  const nameless = structuredClone(docs.find((d) => d.kind === 'Deployment')) as unknown as DeploymentObj;
  delete (nameless.spec.template.spec.containers[0] as Partial<Container> & { name?: string }).name;
  assert.throws(
    () => new Deployment(nameless as never).validate(),
    /required property 'name'|required property name/,
  );
});

test('the ConfigMap is a config streamscore accepts once the mounted secrets supply the passwords', () => {
  const raw = parseYaml(configMap.data['streamscore.yaml'] as string) as unknown;
  const config = parseConfig(raw, {
    [ENV.kafkaSaslPassword]: 'p',
    [ENV.redisPassword]: 'p',
    [ENV.adminToken]: '0123456789abcdef',
  });
  assert.equal(config.kafka.sasl?.mechanism, 'scram-sha-512');
  assert.ok(config.redis.url.startsWith('rediss://'));
  // the config file is the one the container is told to read, from the ConfigMap's mount
  const mount = container.volumeMounts.find((m) => m.name === 'config')?.mountPath;
  assert.deepEqual(container.args, ['run', '--config', `${mount}/streamscore.yaml`]);
  // probes and the metrics port are the config's observe port, listening beyond localhost
  assert.equal(config.observe.host, '0.0.0.0');
  const port = container.ports.find((p) => p.name === 'metrics')?.containerPort;
  assert.equal(port, config.observe.port);
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(container.readinessProbe.httpGet.port, 'metrics');
  // the whole stop fits in the grace period before the kubelet's SIGKILL
  assert.ok(config.shutdown.timeoutMs < pod.terminationGracePeriodSeconds * 1000);
});

test('every *_FILE variable is one streamscore reads and names a key of a mounted Secret', () => {
  const known = new Set<string>(Object.values(ENV));
  const files = container.env.filter((e) => e.name.endsWith('_FILE'));
  assert.ok(files.length >= 3);
  for (const e of files) {
    assert.ok(known.has(e.name.slice(0, -'_FILE'.length)), `${e.name}: streamscore reads no such variable`);
    const mount = container.volumeMounts.find((m) => e.value.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `${e.name}: ${e.value} is under no volume mount`);
    const volume = pod.volumes.find((v) => v.name === mount.name);
    const secret = volume?.secret?.secretName;
    assert.ok(secret, `${e.name}: the volume ${mount.name} is not a Secret`);
    assert.ok(
      secretKeys(secret).includes(e.value.slice(mount.mountPath.length + 1)),
      `${e.name}: Secret ${secret} has no key ${e.value.slice(mount.mountPath.length + 1)}`,
    );
  }
  // no secret as a plain variable
  for (const e of container.env)
    assert.doesNotMatch(e.name, /PASSWORD$|TOKEN$/, `${e.name}: a secret belongs in a file`);
  // every volume names an object the file defines
  for (const v of pod.volumes) {
    if (v.configMap !== undefined) find('ConfigMap', v.configMap.name);
    if (v.secret !== undefined) find('Secret', v.secret.secretName);
  }
});

test('the PodDisruptionBudget and Service select the Deployment’s pods; the autoscaler watches the pipeline’s group within the partition count', () => {
  const labels = deployment.spec.template.metadata.labels;
  const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  assert.ok(matches(deployment.spec.selector.matchLabels));
  assert.ok(
    matches(
      find<{ spec: { selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget').spec
        .selector.matchLabels,
    ),
  );
  assert.ok(matches(find<{ spec: { selector: Record<string, string> } }>('Service').spec.selector));

  const config = parseConfig(parseYaml(configMap.data['streamscore.yaml'] as string), {
    [ENV.kafkaSaslPassword]: 'p',
  });
  const scaled = find<{
    spec: {
      scaleTargetRef: { name: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: Array<{
        type: string;
        metadata: Record<string, string>;
        authenticationRef: { name: string };
      }>;
    };
  }>('ScaledObject');
  assert.equal(scaled.spec.scaleTargetRef.name, 'streamscore');
  const kafka = scaled.spec.triggers.find((t) => t.type === 'kafka');
  assert.ok(kafka);
  assert.equal(kafka.metadata['consumerGroup'], config.consumer.groupId);
  assert.equal(kafka.metadata['bootstrapServers'], config.kafka.brokers.join(','));
  find('TriggerAuthentication', kafka.authenticationRef.name);
  // instances beyond the input partitions would idle: the ceiling is the production overlay's count
  const prod = applyOverlay(loadTopicSpecs('topics'), loadOverlay('topics', 'production')).flatMap(
    (f) => f.topics,
  );
  const inputs = new Set([...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic));
  const partitions = Math.max(...prod.filter((t) => inputs.has(t.name)).map((t) => t.partitions));
  assert.equal(scaled.spec.maxReplicaCount, partitions);
  assert.ok(scaled.spec.minReplicaCount <= deployment.spec.replicas);
});

test('the timer sweeper runs as one pod at a time, with the pipeline\u2019s config and secret files, outside the pipeline\u2019s selectors', () => {
  const timers = find<DeploymentObj>('Deployment', 'streamscore-timers');
  assert.equal(timers.spec.replicas, 1);
  assert.equal((timers.spec as unknown as { strategy: { type: string } }).strategy.type, 'Recreate');
  const c = timers.spec.template.spec.containers[0] as Container;
  const mount = c.volumeMounts.find((m) => m.name === 'config')?.mountPath;
  assert.deepEqual(c.args, ['timers', '--config', `${mount}/streamscore.yaml`]);
  const config = parseConfig(parseYaml(configMap.data['streamscore.yaml'] as string) as unknown, {
    [ENV.kafkaSaslPassword]: 'p',
    [ENV.redisPassword]: 'p',
  });
  assert.equal(config.timers.enabled, true, 'the ConfigMap enables timers (the command refuses otherwise)');
  for (const e of c.env.filter((x) => x.name.endsWith('_FILE')))
    assert.ok(
      container.env.some((p) => p.name === e.name && p.value === e.value),
      `${e.name}: the same secret file as the pipeline`,
    );
  const label = timers.spec.template.metadata.labels['app.kubernetes.io/name'];
  assert.notEqual(label, deployment.spec.template.metadata.labels['app.kubernetes.io/name']);
});
