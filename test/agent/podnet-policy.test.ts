// NetworkPolicy to nftables rules (pure): which policies isolate a pod, and what their rules let through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { podPolicyRules, policyTypes, replaceScript } from '../../src/agent/podnet/policy.js';

const pod = (ns: string, name: string, ip: string, labels: Record<string, string>, ports: any[] = []): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, labels },
  spec: { containers: [{ name: 'c', ports }] },
  status: { phase: 'Running', podIP: ip },
});
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } });
const policy = (namespace: string, name: string, spec: any): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec });

const db = pod('prod', 'db-0', '10.244.1.2', { app: 'db' }, [{ name: 'sql', containerPort: 3306 }]);
const web = pod('prod', 'web-0', '10.244.1.3', { app: 'web' });
const other = pod('dev', 'web-0', '10.244.1.4', { app: 'web' }, [{ name: 'sql', containerPort: 5432 }]);
const svc = (namespace: string, name: string, clusterIP: string, selector: Record<string, string> | undefined, ports: any[]): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { clusterIP, selector, ports } });
const services = [
  svc('default', 'kubernetes', '10.96.0.1', undefined, [{ port: 443, targetPort: 6443 }]),
  svc('kube-system', 'kube-dns', '10.96.0.10', undefined, [{ port: 53, protocol: 'UDP' }]),
  svc('dev', 'pg', '10.96.0.20', { app: 'web' }, [{ port: 5432, targetPort: 'sql' }, { port: 80, targetPort: 8080 }]),
  svc('prod', 'db', '10.96.0.30', { app: 'db' }, [{ port: 3306 }]),
];
const world = (policies: KubeObject[]) => ({ pods: [db, web, other], namespaces: [ns('prod', { env: 'prod' }), ns('dev')], policies, services });
const ctx = { hostAddresses: ['10.244.0.1'], serviceCidr: '10.96.0.0/12' };

describe('NetworkPolicy rules', () => {
  it('leaves a pod no policy selects alone', () => {
    assert.equal(podPolicyRules({ pod: web, ip: '10.244.1.3' }, world([policy('prod', 'p', { podSelector: { matchLabels: { app: 'db' } } })]), ctx), undefined);
    assert.equal(podPolicyRules({ pod: other, ip: '10.244.1.4' }, world([policy('prod', 'p', { podSelector: {} })]), ctx), undefined, 'another namespace');
  });

  it('defaults policyTypes as upstream: Ingress, plus Egress when egress rules exist', () => {
    assert.deepEqual(policyTypes(policy('a', 'p', { podSelector: {} })), ['Ingress']);
    assert.deepEqual(policyTypes(policy('a', 'p', { podSelector: {}, egress: [{}] })), ['Ingress', 'Egress']);
    assert.deepEqual(policyTypes(policy('a', 'p', { podSelector: {}, policyTypes: ['Egress'] })), ['Egress']);
  });

  it('denies all ingress but the host, loopback and answers when a policy selects the pod with no rules', () => {
    const rules = podPolicyRules({ pod: db, ip: db.status!.podIP }, world([policy('prod', 'deny', { podSelector: {} })]), ctx)!;
    assert.match(rules, /chain input \{/);
    assert.doesNotMatch(rules, /chain output/);
    assert.match(rules, /ct state established,related accept\n\s+iifname "lo" accept\n\s+ip saddr \{ 10\.244\.0\.1 \} accept\n\s+counter drop/);
  });

  it('allows pods by podSelector and namespaceSelector, with named ports resolved on the target', () => {
    const rules = podPolicyRules(
      { pod: db, ip: db.status!.podIP },
      world([
        policy('prod', 'allow', {
          podSelector: { matchLabels: { app: 'db' } },
          ingress: [
            { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'sql' }, { port: 9000, endPort: 9010, protocol: 'UDP' }] },
            { from: [{ namespaceSelector: {} , podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 22 }] },
            { from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] } }] },
          ],
        }),
      ]),
      ctx,
    )!;
    assert.match(rules, /ip saddr \{ 10\.244\.1\.3 \} tcp dport 3306 accept/);
    assert.match(rules, /ip saddr \{ 10\.244\.1\.3 \} udp dport 9000-9010 accept/);
    assert.match(rules, /ip saddr \{ 10\.244\.1\.3, 10\.244\.1\.4 \} tcp dport 22 accept/);
    assert.match(rules, /ip saddr 10\.244\.0\.0\/16 ip saddr != \{ 10\.244\.1\.0\/24 \} accept/);
  });

  it('isolates egress: named ports resolve on each peer; a cluster IP port is open when a backend is allowed; the API and DNS stay reachable', () => {
    const rules = podPolicyRules(
      { pod: web, ip: web.status!.podIP },
      world([policy('prod', 'out', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }], ports: [{ port: 'sql' }] }] })]),
      ctx,
    )!;
    assert.match(rules, /chain output \{[\s\S]*oifname "lo" accept\n\s+ip daddr \{ 10\.96\.0\.1, 10\.96\.0\.10 \} accept\n\s+ip daddr 10\.96\.0\.20 tcp dport 5432 accept\n\s+ip daddr 10\.244\.1\.4 tcp dport 5432 accept\n\s+counter drop/);
    assert.doesNotMatch(rules, /10\.96\.0\.20 tcp dport 80 |10\.96\.0\.30/, 'ports and services whose backends are not allowed stay closed');
    assert.doesNotMatch(rules, /chain input/);
  });

  it('replaces the table in one transaction, or removes it', () => {
    assert.equal(replaceScript(undefined), 'table inet petset_policy {}\ndelete table inet petset_policy\n');
    assert.match(replaceScript('table inet petset_policy {\n}\n'), /^table inet petset_policy \{\}\ndelete table inet petset_policy\ntable inet petset_policy \{/);
  });
});
