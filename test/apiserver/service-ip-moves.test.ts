// Services of a data dir used with another service range (host mode's 127.96.0.0/12, then root
// mode's 10.96.0.0/12, or the reverse) move into the current one (pure decision).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { clusterIPMoves, serviceRange } from '../../src/apiserver/service-ips.js';

const svc = (namespace: string, name: string, clusterIP: string, type = 'ClusterIP'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name, uid: `${namespace}/${name}` }, spec: { type, clusterIP } });

describe('cluster IPs outside the service range', () => {
  const root = serviceRange('10.96.0.0/12');
  it('moves every service outside the range, the kubernetes and kube-dns services to their reserved addresses', () => {
    const moves = clusterIPMoves(
      [
        svc('default', 'kubernetes', '127.96.0.1'),
        svc('kube-system', 'kube-dns', '127.96.0.10'),
        svc('default', 'kubia-public', '127.100.3.4'),
        svc('default', 'kubia', 'None'),
        svc('default', 'ext', '', 'ExternalName'),
        svc('default', 'kept', '10.96.0.77'),
      ],
      root,
    );
    assert.deepEqual(
      moves.map((m) => [m.name, m.from, m.to.startsWith('10.') ? 'in range' : m.to]),
      [
        ['kubernetes', '127.96.0.1', 'in range'],
        ['kube-dns', '127.96.0.10', 'in range'],
        ['kubia-public', '127.100.3.4', 'in range'],
      ],
    );
    assert.equal(moves[0].to, '10.96.0.1');
    assert.equal(moves[1].to, '10.96.0.10');
    assert.equal(moves[1].uid, 'kube-system/kube-dns');
    const n = moves[2].to.split('.').map(Number);
    assert.ok(n[0] === 10 && n[1] >= 96 && n[1] < 112 && !(n[1] === 96 && n[2] === 0 && n[3] <= 10), moves[2].to);
  });

  it('the reverse switch, never onto an address in use, and nothing to do when all are in range', () => {
    const host = serviceRange('127.96.0.0/28');
    // 16 addresses: .0 (network), .1, .10 reserved, .11-.14 to allocate, .15 last
    const moves = clusterIPMoves([svc('default', 'a', '10.96.0.20'), svc('default', 'b', '127.96.0.11'), svc('default', 'c', '10.96.0.21')], host, () => 0);
    assert.deepEqual(moves.map((m) => [m.name, m.to]), [['a', '127.96.0.12'], ['c', '127.96.0.13']]);
    assert.deepEqual(clusterIPMoves([svc('default', 'b', '127.96.0.11')], host), []);
  });
});
