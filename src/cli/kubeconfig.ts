// The kubeconfig `petset up` writes for kubectl and client libraries.
import fs from 'node:fs';
import yaml from 'js-yaml';

export interface KubeconfigInput {
  server: string;
  caPem: string;
  /** a bearer token (the admin's) */
  token?: string;
  /** a client certificate and key (a node's credential; the admin's beside its token) */
  clientCertPem?: string;
  clientKeyPem?: string;
  context?: string;
  /** the user entry's name (default <context>-admin) */
  user?: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  const name = k.context ?? 'petset';
  const userName = k.user ?? `${name}-admin`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // both may be given: the API server takes the certificate first, as upstream's does
  const user = {
    ...(k.clientCertPem && k.clientKeyPem ? { 'client-certificate-data': b64(k.clientCertPem), 'client-key-data': b64(k.clientKeyPem) } : {}),
    ...(k.token ? { token: k.token } : {}),
  };
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: k.server, 'certificate-authority-data': Buffer.from(k.caPem).toString('base64') } }],
    users: [{ name: userName, user }],
    contexts: [{ name, context: { cluster: name, user: userName, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export function writeKubeconfig(file: string, k: KubeconfigInput): void {
  const text = renderKubeconfig(k);
  // unchanged (a restart on the same port): nothing to write, which also lets petset start on a full disk
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch {
    /* not there yet */
  }
  const tmp = `${file}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
