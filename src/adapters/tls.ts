/**
 * TLS options of a client's sockets from the config (kafka.ssl, redis.tls): the CA bundle, the client
 * certificate and key (mutual TLS) read from their files, hostname verification on unless turned off.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { StreamscoreError } from '../errors/index.js';

export interface TlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly keyPassword?: string | undefined;
  readonly verifyHostname: boolean;
}

function pem(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONFIG_INVALID',
      `${field}: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); point it at a readable PEM file`,
      { cause, details: { field } },
    );
  }
}

/** `at` names the config section in errors (e.g. "kafka.ssl"). */
export function tlsOptions(at: string, files: TlsFiles): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: true };
  if (files.caFile !== undefined) out.ca = [pem(`${at}.caFile`, files.caFile)];
  if (files.certFile !== undefined) out.cert = pem(`${at}.certFile`, files.certFile);
  if (files.keyFile !== undefined) out.key = pem(`${at}.keyFile`, files.keyFile);
  if (files.keyPassword !== undefined) out.passphrase = files.keyPassword;
  // the certificate is still checked against the CA; only the name in it is not compared with the host
  if (!files.verifyHostname) out.checkServerIdentity = () => undefined;
  return out;
}
