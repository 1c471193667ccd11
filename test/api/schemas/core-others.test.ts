import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allDefinitions, allKinds } from '../../../src/api/kinds/index.js';
import { propertySchema, resolveSchema, type Schema } from '../../../src/api/schema.js';
import { coreDefinitions } from '../../../src/api/schemas/core.js';
import { otherDefinitions } from '../../../src/api/schemas/others.js';
import { checkUnknownFields } from '../../../src/apiserver/field-validation.js';

const CORE = 'io.k8s.api.core.v1.';
const mine = { ...coreDefinitions, ...otherDefinitions };

/** The schema at a dotted path under a definition, resolved. */
function at(definition: string, path: string): Schema {
  let s: Schema | undefined = { $ref: definition };
  for (const part of path.split('.')) s = part === '[]' ? resolveSchema(allDefinitions, resolveSchema(allDefinitions, s)?.items) : propertySchema(allDefinitions, s, part);
  assert.ok(s, `${definition} ${path}`);
  return s!;
}

function unknownFields(apiVersion: string, kind: string, body: Record<string, unknown>): string[] {
  const k = allKinds.find((x) => x.kind === kind && (x.group ? `${x.group}/${x.version}` : x.version) === apiVersion)!;
  return checkUnknownFields({ apiVersion, kind, ...body }, { $ref: k.definition }, allDefinitions);
}

describe('core and other schemas', () => {
  it('every reference resolves', () => {
    const missing: string[] = [];
    const walk = (x: unknown, where: string) => {
      if (!x || typeof x !== 'object') return;
      const ref = (x as Schema).$ref;
      if (ref && !allDefinitions[ref]) missing.push(`${where} -> ${ref}`);
      for (const v of Object.values(x)) walk(v, where);
    };
    for (const [name, def] of Object.entries(mine)) walk(def, name);
    assert.deepEqual(missing, []);
  });

  it('kinds name definitions carrying their group/version/kind', () => {
    for (const k of allKinds.filter((x) => mine[x.definition])) {
      assert.deepEqual(mine[k.definition]['x-kubernetes-group-version-kind'], [{ group: k.group, version: k.version, kind: k.kind }], k.kind);
    }
  });

  it('carries upstream patch metadata', () => {
    const ports = at(`${CORE}Service`, 'spec.ports');
    assert.equal(ports['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'port');
    assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
    for (const path of ['status.conditions', 'status.addresses']) {
      assert.equal(at(`${CORE}Node`, path)['x-kubernetes-patch-merge-key'], 'type', path);
    }
    assert.equal(at(`${CORE}Node`, 'spec.podCIDRs')['x-kubernetes-list-type'], 'set');
    assert.equal(at(`${CORE}Node`, 'spec.taints')['x-kubernetes-list-type'], 'atomic');
    assert.equal(at(`${CORE}ServiceAccount`, 'secrets')['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(at(`${CORE}PersistentVolumeClaim`, 'status.conditions')['x-kubernetes-patch-merge-key'], 'type');
    assert.equal(at(`${CORE}PersistentVolume`, 'spec.claimRef')['x-kubernetes-map-type'], 'granular');
    assert.equal(at(`${CORE}Service`, 'spec.selector')['x-kubernetes-map-type'], 'atomic');
    assert.equal(at('io.k8s.api.policy.v1.PodDisruptionBudget', 'spec.selector')['x-kubernetes-patch-strategy'], 'replace');
    assert.equal(at('io.k8s.api.discovery.v1.EndpointSlice', 'endpoints.[].addresses')['x-kubernetes-list-type'], 'set');
    assert.equal(at(`${CORE}Secret`, 'data').additionalProperties && (at(`${CORE}Secret`, 'data').additionalProperties as Schema).format, 'byte');
    assert.equal(at(`${CORE}Service`, 'spec.ports.[].targetPort')['x-kubernetes-int-or-string'], true);
  });
});

describe('real manifests pass strict field validation', () => {
  it('Service, Endpoints, ConfigMap, Secret, ServiceAccount', () => {
    assert.deepEqual(
      unknownFields('v1', 'Service', {
        metadata: { name: 'nginx', labels: { app: 'nginx' } },
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector: { app: 'nginx' },
          ports: [{ port: 80, name: 'web', targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          trafficDistribution: 'PreferClose',
        },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] } },
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('v1', 'Endpoints', {
        metadata: { name: 'nginx' },
        subsets: [{ addresses: [{ ip: '127.0.1.2', hostname: 'web-0', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-0', namespace: 'default', uid: 'u' } }], ports: [{ name: 'web', port: 80, protocol: 'TCP' }] }],
      }),
      [],
    );
    assert.deepEqual(unknownFields('v1', 'ConfigMap', { metadata: { name: 'c' }, data: { 'my.cnf': '[mysqld]' }, binaryData: { b: 'AA==' }, immutable: true }), []);
    assert.deepEqual(unknownFields('v1', 'Secret', { metadata: { name: 's' }, type: 'Opaque', stringData: { password: 'x' }, data: { u: 'dQ==' } }), []);
    assert.deepEqual(unknownFields('v1', 'ServiceAccount', { metadata: { name: 'sa' }, automountServiceAccountToken: false, imagePullSecrets: [{ name: 'reg' }] }), []);
  });

  it('Namespace, Node, Event', () => {
    assert.deepEqual(unknownFields('v1', 'Namespace', { metadata: { name: 'n' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }), []);
    assert.deepEqual(
      unknownFields('v1', 'Node', {
        metadata: { name: 'node-1' },
        spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], taints: [{ key: 'k', effect: 'NoSchedule', timeAdded: '2025-01-01T00:00:00Z' }] },
        status: {
          capacity: { cpu: '4', memory: '8Gi' },
          allocatable: { cpu: '4', memory: '8Gi' },
          conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'KubeletReady', message: 'ok' }],
          addresses: [{ type: 'InternalIP', address: '127.0.0.2' }],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'x', architecture: 'amd64', operatingSystem: 'linux', swap: { capacity: 0 } },
          images: [{ names: ['nginx'], sizeBytes: 1 }],
          runtimeHandlers: [{ name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
          features: { supplementalGroupsPolicy: true },
        },
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('v1', 'Event', {
        metadata: { name: 'e', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'web-0', fieldPath: 'spec.containers{nginx}' },
        reason: 'Created',
        source: { component: 'kubelet', host: 'node-1' },
        eventTime: '2025-01-01T00:00:00.000000Z',
        series: { count: 2, lastObservedTime: '2025-01-01T00:00:00.000000Z' },
        reportingComponent: 'kubelet',
        reportingInstance: 'node-1',
        action: 'Create',
        related: { kind: 'Node', name: 'node-1' },
      }),
      [],
    );
  });

  it('PersistentVolume, PersistentVolumeClaim, StorageClass', () => {
    assert.deepEqual(
      unknownFields('v1', 'PersistentVolume', {
        metadata: { name: 'pv' },
        spec: {
          capacity: { storage: '10Gi' },
          accessModes: ['ReadWriteOnce'],
          local: { path: '/mnt/disks/ssd1', fsType: 'ext4' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] } },
          claimRef: { namespace: 'default', name: 'data' },
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: 'local-storage',
          mountOptions: ['noatime'],
          volumeMode: 'Filesystem',
          rbd: { monitors: ['m'], image: 'i', whatever: true },
        },
        status: { phase: 'Available', lastPhaseTransitionTime: '2025-01-01T00:00:00Z' },
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('v1', 'PersistentVolumeClaim', {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' }, limits: { storage: '2Gi' } },
          selector: { matchLabels: { tier: 'fast' } },
          dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap', namespace: 'x' },
        },
        status: { phase: 'Bound', capacity: { storage: '1Gi' }, allocatedResourceStatuses: { storage: 'NodeResizePending' }, modifyVolumeStatus: { status: 'Pending' } },
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('storage.k8s.io/v1', 'StorageClass', {
        metadata: { name: 'standard' },
        provisioner: 'rancher.io/local-path',
        parameters: { nodePath: '/opt' },
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
        allowedTopologies: [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['a'] }] }],
      }),
      [],
    );
  });

  it('Lease, EndpointSlice, PodDisruptionBudget', () => {
    assert.deepEqual(
      unknownFields('coordination.k8s.io/v1', 'Lease', {
        metadata: { name: 'node-1', namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'u' }] },
        spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2025-01-01T00:00:00.000000Z', acquireTime: '2025-01-01T00:00:00.000000Z', leaseTransitions: 0 },
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('discovery.k8s.io/v1', 'EndpointSlice', {
        metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['127.0.1.2'],
            conditions: { ready: true, serving: true, terminating: false },
            hostname: 'web-0',
            targetRef: { kind: 'Pod', name: 'web-0' },
            nodeName: 'node-1',
            zone: 'z',
            hints: { forZones: [{ name: 'z' }], forNodes: [{ name: 'node-1' }] },
          },
        ],
        ports: [{ name: 'web', port: 80, protocol: 'TCP', appProtocol: 'http' }],
      }),
      [],
    );
    assert.deepEqual(
      unknownFields('policy/v1', 'PodDisruptionBudget', {
        metadata: { name: 'web' },
        spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
        status: {
          observedGeneration: 1,
          disruptedPods: { 'web-0': '2025-01-01T00:00:00Z' },
          disruptionsAllowed: 1,
          currentHealthy: 3,
          desiredHealthy: 2,
          expectedPods: 3,
          conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' }],
        },
      }),
      [],
    );
  });

  it('reports fields that do not exist', () => {
    assert.deepEqual(unknownFields('v1', 'Service', { metadata: { name: 's' }, spec: { ports: [{ port: 80, targetport: 8080 }], clusterIp: 'None' } }), [
      'spec.ports[0].targetport',
      'spec.clusterIp',
    ]);
    assert.deepEqual(unknownFields('v1', 'PersistentVolumeClaim', { metadata: { name: 'c' }, spec: { resources: { request: { storage: '1Gi' } } } }), [
      'spec.resources.request',
    ]);
  });
});
