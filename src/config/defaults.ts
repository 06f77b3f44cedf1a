/**
 * Defaults shared by the configuration, the local services script (scripts/services.sh) and
 * docker-compose.yml. A unit test checks that all three agree.
 */
export const DEFAULT_PORTS = {
  kafka: 9092,
  kafkaController: 9093,
  registry: 8081,
  redis: 6379,
  observe: 9464,
} as const;

export const DEFAULT_HOST = '127.0.0.1';
export const REGISTRY_CCOMPAT_PATH = '/apis/ccompat/v7';

/** Environment variables understood by the config loader (and by the services script where noted). */
export const ENV = {
  config: 'STREAMSCORE_CONFIG',
  kafkaBrokers: 'STREAMSCORE_KAFKA_BROKERS',
  kafkaSaslUsername: 'STREAMSCORE_KAFKA_SASL_USERNAME',
  kafkaSaslPassword: 'STREAMSCORE_KAFKA_SASL_PASSWORD',
  registryUrl: 'STREAMSCORE_REGISTRY_URL',
  registryPassword: 'STREAMSCORE_REGISTRY_PASSWORD',
  redisUrl: 'STREAMSCORE_REDIS_URL',
  redisUsername: 'STREAMSCORE_REDIS_USERNAME',
  redisPassword: 'STREAMSCORE_REDIS_PASSWORD',
  groupId: 'STREAMSCORE_GROUP_ID',
  modelVersion: 'STREAMSCORE_MODEL_VERSION',
  modelAlias: 'STREAMSCORE_MODEL_ALIAS',
  observePort: 'STREAMSCORE_OBSERVE_PORT',
  observeHost: 'STREAMSCORE_OBSERVE_HOST',
  logLevel: 'STREAMSCORE_LOG_LEVEL',
  adminToken: 'STREAMSCORE_OBSERVE_ADMIN_TOKEN',
  // used by scripts/services.sh and docker-compose.yml
  kafkaPort: 'STREAMSCORE_KAFKA_PORT',
  registryPort: 'STREAMSCORE_REGISTRY_PORT',
  redisPort: 'STREAMSCORE_REDIS_PORT',
} as const;

export function defaultBrokers(env: NodeJS.ProcessEnv = process.env): string[] {
  return [`${DEFAULT_HOST}:${env[ENV.kafkaPort] ?? DEFAULT_PORTS.kafka}`];
}

export function defaultRegistryUrl(env: NodeJS.ProcessEnv = process.env): string {
  return `http://${DEFAULT_HOST}:${env[ENV.registryPort] ?? DEFAULT_PORTS.registry}${REGISTRY_CCOMPAT_PATH}`;
}

export function defaultRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return `redis://${DEFAULT_HOST}:${env[ENV.redisPort] ?? DEFAULT_PORTS.redis}`;
}
