/**
 * kafka.ssl as the TLS options of the client's sockets: the CA bundle, the client certificate and key
 * (mutual TLS) read from their files, hostname verification on unless turned off.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';

function pem(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONFIG_INVALID',
      `kafka.ssl.${field}: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); point it at a readable PEM file`,
      { cause, details: { field: `kafka.ssl.${field}` } },
    );
  }
}

export function kafkaTls(ssl: Config['kafka']['ssl']): boolean | ConnectionOptions {
  if (typeof ssl === 'boolean') return ssl;
  const out: ConnectionOptions = { rejectUnauthorized: true };
  if (ssl.caFile !== undefined) out.ca = [pem('caFile', ssl.caFile)];
  if (ssl.certFile !== undefined) out.cert = pem('certFile', ssl.certFile);
  if (ssl.keyFile !== undefined) out.key = pem('keyFile', ssl.keyFile);
  if (ssl.keyPassword !== undefined) out.passphrase = ssl.keyPassword;
  // the certificate is still checked against the CA; only the name in it is not compared with the host
  if (!ssl.verifyHostname) out.checkServerIdentity = () => undefined;
  return out;
}
