// The kubeconfig `petset up` writes for kubectl and client libraries.
import fs from 'node:fs';
import yaml from 'js-yaml';

export interface KubeconfigInput {
  server: string;
  caPem: string;
  token: string;
  context?: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  const name = k.context ?? 'petset';
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: k.server, 'certificate-authority-data': Buffer.from(k.caPem).toString('base64') } }],
    users: [{ name: `${name}-admin`, user: { token: k.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export function writeKubeconfig(file: string, k: KubeconfigInput): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, renderKubeconfig(k), { mode: 0o600 });
  fs.renameSync(tmp, file);
}
