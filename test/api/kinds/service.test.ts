import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignClusterIP, serviceKind, serviceNeedsClusterIP } from '../../../src/api/kinds/service.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

function svc(spec: Record<string, unknown>, name = 'web'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

/** What the API server's allocator does between defaults and validation. */
function allocated(obj: KubeObject, ip = '127.96.0.10'): KubeObject {
  if (serviceNeedsClusterIP(obj) && !obj.spec.clusterIP) assignClusterIP(obj, ip);
  return obj;
}

describe('Service defaults', () => {
  it('fills in type, affinity, protocol, targetPort and traffic policies', () => {
    const { obj, errors } = create(serviceKind, svc({ selector: { app: 'web' }, ports: [{ port: 80 }] }));
    assert.deepEqual(errors, []);
    assert.equal(obj.spec.type, 'ClusterIP');
    assert.equal(obj.spec.sessionAffinity, 'None');
    assert.deepEqual(obj.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(obj.spec.internalTrafficPolicy, 'Cluster');
    assert.equal(obj.spec.externalTrafficPolicy, undefined);
    assert.equal(obj.spec.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(obj.spec.ipFamilies, ['IPv4']);
    assert.deepEqual(obj.status, { loadBalancer: {} });
  });

  it('headless: clusterIPs follow clusterIP None; without a selector both families', () => {
    const withSelector = created(serviceKind, svc({ clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 3306 }] }));
    assert.deepEqual(withSelector.spec.clusterIPs, ['None']);
    assert.equal(withSelector.spec.ipFamilyPolicy, 'SingleStack');
    assert.equal(serviceNeedsClusterIP(withSelector), false);
    const bare = created(serviceKind, svc({ clusterIP: 'None' }));
    assert.equal(bare.spec.ipFamilyPolicy, 'RequireDualStack');
    assert.deepEqual(bare.spec.ipFamilies, ['IPv4', 'IPv6']);
  });

  it('NodePort and LoadBalancer get externalTrafficPolicy; ClientIP gets a timeout', () => {
    const lb = created(serviceKind, svc({ type: 'LoadBalancer', sessionAffinity: 'ClientIP', ports: [{ port: 443, targetPort: 'https' }] }));
    assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
    assert.deepEqual(lb.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
    assert.equal(lb.spec.ports[0].targetPort, 'https');
  });

  it('ExternalName needs no cluster IP', () => {
    const obj = created(serviceKind, svc({ type: 'ExternalName', externalName: 'db.example.com.' }));
    assert.equal(serviceNeedsClusterIP(obj), false);
    assert.equal(obj.spec.ipFamilies, undefined);
    assert.equal(obj.spec.internalTrafficPolicy, undefined);
  });
});

describe('Service validation', () => {
  it('needs ports unless headless', () => {
    assert.deepEqual(create(serviceKind, svc({ selector: { app: 'x' } })).errors, ['spec.ports: Required value']);
    assert.deepEqual(create(serviceKind, svc({ clusterIP: 'None' })).errors, []);
  });

  it('names must be DNS-1035 labels', () => {
    const { errors } = create(serviceKind, svc({ ports: [{ port: 80 }] }, '1web'));
    assert.match(errors[0], /^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of/);
  });

  it('port names are required, valid and unique once there are several ports', () => {
    const { errors } = create(serviceKind, svc({ ports: [{ port: 80, name: 'http' }, { port: 443 }, { port: 8080, name: 'http' }] }));
    assert.deepEqual(errors, ['spec.ports[1].name: Required value', 'spec.ports[2].name: Duplicate value: "http"']);
  });

  it('checks port ranges, protocols, target port names and duplicates', () => {
    const { errors } = create(
      serviceKind,
      svc({ ports: [{ name: 'a', port: 70000 }, { name: 'b', port: 53, protocol: 'ICMP' }, { name: 'c', port: 81, targetPort: 'Web--Port' }, { name: 'd', port: 81 }] }),
    );
    assert.deepEqual(errors, [
      'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'spec.ports[2].targetPort: Invalid value: "Web--Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ports[2].targetPort: Invalid value: "Web--Port": must not contain consecutive hyphens',
      'spec.ports[3]: Duplicate value: {"port":81,"protocol":"TCP"}',
    ]);
  });

  it('rejects unknown types and node ports on ClusterIP services', () => {
    const { errors } = create(serviceKind, svc({ type: 'Internal', ports: [{ port: 80 }] }));
    assert.ok(errors.includes('spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'));
    const np = create(serviceKind, svc({ ports: [{ port: 80, nodePort: 30080 }] }));
    assert.deepEqual(np.errors, ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  });

  it('cluster IPs never change once allocated', () => {
    const current = allocated(created(serviceKind, svc({ selector: { app: 'web' }, ports: [{ port: 80 }] })));
    const changed = update(serviceKind, { ...current, spec: { ...current.spec, clusterIP: '127.96.0.99', clusterIPs: undefined } }, current);
    assert.deepEqual(changed.errors, ['spec.clusterIPs[0]: Invalid value: []string{"127.96.0.99"}: may not change once set']);
  });

  it('an update that leaves out the allocated addresses keeps them', () => {
    const current = allocated(created(serviceKind, svc({ selector: { app: 'web' }, ports: [{ port: 80 }] })));
    const { obj, errors } = update(serviceKind, svc({ selector: { app: 'web2' }, ports: [{ port: 80 }] }), current);
    assert.deepEqual(errors, []);
    assert.equal(obj.spec.clusterIP, '127.96.0.10');
    assert.deepEqual(obj.spec.clusterIPs, ['127.96.0.10']);
    assert.deepEqual(obj.status, { loadBalancer: {} });
  });

  it('switching to ExternalName drops the addresses and families it no longer uses', () => {
    const current = allocated(created(serviceKind, svc({ ports: [{ port: 80 }] })));
    const { obj, errors } = update(serviceKind, { ...current, spec: { ...current.spec, type: 'ExternalName', externalName: 'example.com' } }, current);
    assert.deepEqual(errors, []);
    assert.equal(obj.spec.clusterIP, undefined);
    assert.equal(obj.spec.ipFamilies, undefined);
  });
});

describe('Service table', () => {
  it('prints upstream columns', () => {
    const obj = allocated(created(serviceKind, svc({ selector: { app: 'mysql', tier: 'db' }, ports: [{ port: 3306 }] })));
    assert.deepEqual(row(serviceKind, obj), {
      Name: 'web',
      Type: 'ClusterIP',
      'Cluster-IP': '127.96.0.10',
      'External-IP': '<none>',
      'Port(s)': '3306/TCP',
      Age: '5m',
      Selector: 'app=mysql,tier=db',
    });
  });

  it('shows None, <none>, node ports and pending load balancers', () => {
    const headless = created(serviceKind, svc({ clusterIP: 'None' }));
    assert.equal(row(serviceKind, headless)['Cluster-IP'], 'None');
    assert.equal(row(serviceKind, headless)['Port(s)'], '<none>');
    assert.equal(row(serviceKind, headless).Selector, '<none>');
    const lb = created(serviceKind, svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { port: 53, protocol: 'UDP', name: 'dns' }] }));
    assert.equal(row(serviceKind, lb)['Port(s)'], '80:30080/TCP,53/UDP');
    assert.equal(row(serviceKind, lb)['External-IP'], '<pending>');
    lb.status = { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } };
    assert.equal(row(serviceKind, lb)['External-IP'], '192.0.2.1');
  });
});
