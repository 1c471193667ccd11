// NetworkPolicy for connections the service proxy relays (pure): a Service leads only where
// the client could go by the backend pod's address — the backend's ingress rules see the
// client's real address, the client pod's egress rules see the backend.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { serviceConnectionAllowed } from '../../src/agent/podnet/policy.js';

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
const intruder = pod('dev', 'web-0', '10.244.1.4', { app: 'web' });
const world = (policies: KubeObject[]) => ({ pods: [db, web, intruder], namespaces: [ns('prod', { env: 'prod' }), ns('dev')], policies });
const host = { hostAddresses: ['10.244.0.1', '10.244.1.1'], serviceCidr: '10.96.0.0/12' };
const allowed = (from: string, policies: KubeObject[], port = 3306, protocol = 'TCP') => serviceConnectionAllowed(from, db.status!.podIP, port, protocol, world(policies), host);

describe('NetworkPolicy through a Service', () => {
  it('lets everything through while no policy isolates the backend', () => {
    assert.equal(allowed(web.status!.podIP, []), true);
    assert.equal(allowed('::ffff:10.244.1.4', [policy('dev', 'deny', { podSelector: {} })]), true, 'a policy of another namespace');
  });

  it('drops what the backend refuses, judged by the client pod, not the proxy', () => {
    const deny = policy('prod', 'deny', { podSelector: { matchLabels: { app: 'db' } } });
    assert.equal(allowed(web.status!.podIP, [deny]), false);
    assert.equal(allowed('::ffff:10.244.1.3', [deny]), false, 'as an IPv4-mapped address');
    // the host (probes, kubectl port-forward, a node port used from the host) still gets in
    assert.equal(allowed('127.0.0.1', [deny]), true);
    assert.equal(allowed('10.244.1.1', [deny]), true);
    assert.equal(allowed('10.96.0.30', [deny]), true, 'the host connecting to a cluster IP has it as source');
    assert.equal(allowed(db.status!.podIP, [deny]), true, 'the pod itself, through its own Service (as its own address comes in over loopback)');
  });

  it('allows by podSelector, namespaceSelector and ipBlock, on the named target port', () => {
    const allowWeb = policy('prod', 'allow', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'sql' }] }] });
    assert.equal(allowed(web.status!.podIP, [allowWeb]), true);
    assert.equal(allowed(intruder.status!.podIP, [allowWeb]), false, 'same labels, other namespace');
    assert.equal(allowed(web.status!.podIP, [allowWeb], 3307), false, 'another port');
    assert.equal(allowed(web.status!.podIP, [allowWeb], 3306, 'UDP'), false, 'another protocol');
    const allowDev = policy('prod', 'allow-dev', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }] }] });
    assert.equal(allowed(intruder.status!.podIP, [allowDev]), true);
    assert.equal(allowed(web.status!.podIP, [allowDev]), false);
    const block = policy('prod', 'block', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.1.0/24', except: ['10.244.1.4/32'] } }] }] });
    assert.equal(allowed(web.status!.podIP, [block]), true);
    assert.equal(allowed(intruder.status!.podIP, [block]), false);
  });

  it("applies the client pod's egress policy to the backend it is sent to", () => {
    const noEgress = policy('dev', 'no-egress', { podSelector: {}, policyTypes: ['Egress'] });
    assert.equal(allowed(intruder.status!.podIP, [noEgress]), false);
    const toDb = policy('dev', 'to-db', { podSelector: {}, egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 'sql' }] }] });
    assert.equal(allowed(intruder.status!.podIP, [toDb]), true);
    assert.equal(allowed(intruder.status!.podIP, [toDb], 3307), false);
    // a backend that is no pod (the API server behind the kubernetes Service) stays reachable, as the pods' tables let it
    assert.equal(serviceConnectionAllowed(intruder.status!.podIP, '127.0.0.1', 6443, 'TCP', world([noEgress]), host), true);
  });
});
