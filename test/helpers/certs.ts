/**
 * Certificates for tests of TLS: a CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate, made with openssl; the server's key store and trust store as PKCS12 for Java servers
 * (keytool imports the CA).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STORE_PASSWORD = 'test-store-secret';

export interface TestCertificates {
  /** PEM files. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly cert: string;
  readonly key: string;
  /** PKCS12 (password STORE_PASSWORD): the server's key and certificate chain, and the CA. */
  readonly keystore: string;
  readonly truststore: string;
}

export function makeTestCertificates(dir: string): TestCertificates {
  const f = (name: string) => join(dir, name);
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe', cwd: dir });
  const sign = (name: string, subject: string, ext: string) => {
    run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
      '-subj',
      subject,
    ]);
    writeFileSync(f(`${name}.ext`), ext);
    run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      f(`${name}.pem`),
      '-extfile',
      f(`${name}.ext`),
    ]);
  };
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=streamscore-test-ca',
  ]);
  sign(
    'broker',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  sign('client', '/CN=streamscore-client', 'extendedKeyUsage=clientAuth\n');
  run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    f('broker.pem'),
    '-inkey',
    f('broker.key'),
    '-certfile',
    f('ca.pem'),
    '-name',
    'broker',
    '-out',
    f('broker.p12'),
    '-passout',
    `pass:${STORE_PASSWORD}`,
  ]);
  run('keytool', [
    '-importcert',
    '-noprompt',
    '-alias',
    'ca',
    '-file',
    f('ca.pem'),
    '-keystore',
    f('trust.p12'),
    '-storetype',
    'PKCS12',
    '-storepass',
    STORE_PASSWORD,
  ]);
  return {
    ca: f('ca.pem'),
    serverCert: f('broker.pem'),
    serverKey: f('broker.key'),
    cert: f('client.pem'),
    key: f('client.key'),
    keystore: f('broker.p12'),
    truststore: f('trust.p12'),
  };
}
