// Protobuf bodies for every kind the server serves and for DeleteOptions: what client-go ≥ 0.32
// (kubectl ≥ 1.32, Helm) sends for typed creates, updates and deletes. Field numbers in the bodies
// below are upstream's (k8s.io/api generated.proto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ApiError } from '../../src/api/errors.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { kindApiVersion } from '../../src/api/registry.js';
import { decodeKubernetesProtobuf, protobufCoverage } from '../../src/apiserver/protobuf.js';
import { kubectlFor, startCaptureServer } from './fixtures/kubectl-capture.js';

function varint(n: bigint): Buffer {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

const pb = {
  int: (field: number, n: number | bigint) => Buffer.concat([varint(BigInt(field * 8)), varint(BigInt(n))]),
  bytes: (field: number, value: Buffer | string) => {
    const b = Buffer.from(value);
    return Buffer.concat([varint(BigInt(field * 8 + 2)), varint(BigInt(b.length)), b]);
  },
  msg: (field: number, ...parts: Buffer[]) => pb.bytes(field, Buffer.concat(parts)),
  entry: (field: number, key: string, value: Buffer | string) => pb.msg(field, pb.bytes(1, key), pb.bytes(2, value)),
};

function envelope(apiVersion: string, kind: string, ...raw: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), pb.msg(1, pb.bytes(1, apiVersion), pb.bytes(2, kind)), pb.bytes(2, Buffer.concat(raw))]);
}

const T = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;

test('every served kind decodes, and every field of its schema has an upstream field number', () => {
  const registry = defaultRegistry();
  // Properties our schemas have that upstream's Go types no longer carry, and free-form fields
  // standing in for upstream's typed deprecated volume drivers (refused on the wire, see below).
  const problems = protobufCoverage(registry).filter((p) => !/^io\.k8s\.api\.core\.v1\.PodSpec\.workloadRef /.test(p));
  assert.deepEqual(problems, []);
  for (const k of registry.kinds) {
    const apiVersion = kindApiVersion(k);
    const out = decodeKubernetesProtobuf(envelope(apiVersion, k.kind, pb.msg(1, pb.bytes(1, 'x')))) as Record<string, any>;
    assert.equal(out.kind, k.kind);
    assert.equal(out.apiVersion, apiVersion);
    assert.equal(out.metadata.name, 'x');
  }
});

test('DeleteOptions under any group version: dryRun, grace period 0, propagation and preconditions', () => {
  const raw = [pb.int(1, 0), pb.msg(2, pb.bytes(1, 'uid-1'), pb.bytes(2, '7')), pb.bytes(4, 'Foreground'), pb.bytes(5, 'All')];
  for (const apiVersion of ['v1', 'apps/v1', 'meta.k8s.io/v1', 'policy/v1']) {
    assert.deepEqual(decodeKubernetesProtobuf(envelope(apiVersion, 'DeleteOptions', ...raw)), {
      apiVersion,
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'uid-1', resourceVersion: '7' },
      propagationPolicy: 'Foreground',
      dryRun: ['All'],
    });
  }
  // what `helm uninstall` sends: only a propagation policy
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'DeleteOptions', pb.bytes(4, 'Background'))), {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy: 'Background',
  });
});

test('Pod: inlined volume sources and probe handlers, quantities, zero values Go leaves out', () => {
  const container = pb.msg(
    2,
    pb.bytes(1, 'app'),
    pb.bytes(2, 'busybox'),
    pb.bytes(3, 'sleep'),
    pb.bytes(3, '3600'),
    pb.msg(8, pb.msg(1, pb.bytes(1, 'memory'), pb.msg(2, pb.bytes(1, '64Mi'))), pb.msg(2, pb.bytes(1, 'cpu'), pb.msg(2, pb.bytes(1, '100m')))),
    pb.msg(10, pb.msg(1, pb.msg(2, pb.bytes(1, '/healthz'), pb.msg(2, pb.int(1, 0), pb.int(2, 8080)))), pb.int(2, 0), pb.int(4, 5)),
    pb.bytes(13, '/dev/termination-log'),
    pb.int(16, 0), // stdin false: Go writes it, its JSON leaves it out
  );
  const volume = pb.msg(1, pb.bytes(1, 'scratch'), pb.msg(2, pb.msg(2, pb.bytes(1, 'Memory'), pb.msg(2, pb.bytes(1, '1Gi')))));
  const spec = pb.msg(2, volume, container, pb.bytes(3, ''), pb.int(4, 0), pb.int(11, 0), pb.bytes(8, 'default'));
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'Pod', pb.msg(1, pb.bytes(1, 'p')), spec)), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', creationTimestamp: null },
    spec: {
      volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
      containers: [
        {
          name: 'app',
          image: 'busybox',
          command: ['sleep', '3600'],
          resources: { limits: { memory: '64Mi' }, requests: { cpu: '100m' } },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
          terminationMessagePath: '/dev/termination-log',
        },
      ],
      terminationGracePeriodSeconds: 0,
      serviceAccountName: 'default',
    },
    status: {},
  });
});

test('Pod with ephemeral containers: the inlined common part', () => {
  const ephemeral = pb.msg(34, pb.msg(1, pb.bytes(1, 'debugger'), pb.bytes(2, 'busybox'), pb.int(16, 1), pb.int(18, 1)), pb.bytes(2, 'app'));
  const out = decodeKubernetesProtobuf(envelope('v1', 'Pod', pb.msg(1, pb.bytes(1, 'p')), pb.msg(2, ephemeral))) as any;
  assert.deepEqual(out.spec.ephemeralContainers, [{ name: 'debugger', image: 'busybox', resources: {}, stdin: true, tty: true, targetContainerName: 'app' }]);
});

test('StatefulSet: replicas 0 is kept (a pointer), an unset one stays unset', () => {
  const template = pb.msg(3, pb.msg(1, pb.entry(11, 'app', 'web')), pb.msg(2, pb.msg(2, pb.bytes(1, 'c'), pb.bytes(2, 'nginx'))));
  const zero = decodeKubernetesProtobuf(
    envelope('apps/v1', 'StatefulSet', pb.msg(1, pb.bytes(1, 'web')), pb.msg(2, pb.int(1, 0), pb.msg(2, pb.entry(1, 'app', 'web')), template, pb.bytes(5, 'web'))),
  ) as any;
  assert.equal(zero.spec.replicas, 0);
  assert.deepEqual(zero.spec.selector, { matchLabels: { app: 'web' } });
  assert.deepEqual(zero.spec.template.metadata, { labels: { app: 'web' }, creationTimestamp: null });
  assert.equal(zero.spec.serviceName, 'web');
  const unset = decodeKubernetesProtobuf(envelope('apps/v1', 'StatefulSet', pb.msg(1, pb.bytes(1, 'web')), pb.msg(2, template))) as any;
  assert.equal('replicas' in unset.spec, false);
  assert.equal(unset.spec.serviceName, '', 'serviceName has no omitempty: Go JSON shows it');
});

test('Lease micro times and ControllerRevision raw data', () => {
  const lease = decodeKubernetesProtobuf(
    envelope('coordination.k8s.io/v1', 'Lease', pb.msg(1, pb.bytes(1, 'l')), pb.msg(2, pb.bytes(1, 'me'), pb.int(2, 15), pb.msg(4, pb.int(1, T), pb.int(2, 123456789)))),
  ) as any;
  assert.deepEqual(lease.spec, { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '2026-01-02T03:04:05.123456Z' });
  const revision = decodeKubernetesProtobuf(envelope('apps/v1', 'ControllerRevision', pb.msg(1, pb.bytes(1, 'r')), pb.msg(2, pb.bytes(1, '{"spec":{"a":1}}')), pb.int(3, 2))) as any;
  assert.deepEqual(revision.data, { spec: { a: 1 } });
  assert.equal(revision.revision, 2);
});

test('a field our schema keeps free-form cannot be read from protobuf: 415, not silently dropped', () => {
  const volume = pb.msg(1, pb.bytes(1, 'v'), pb.msg(2, pb.msg(3, pb.bytes(1, 'disk'))));
  assert.throws(
    () => decodeKubernetesProtobuf(envelope('v1', 'Pod', pb.msg(1, pb.bytes(1, 'p')), pb.msg(2, volume))),
    (e: unknown) => e instanceof ApiError && e.code === 415 && /gcePersistentDisk/.test(e.message),
  );
});

/* ------------------------------------------------------------------ the real kubectl */

// A pod using most of PodSpec, through `kubectl run --overrides`: kubectl builds the typed Pod and
// POSTs it as protobuf. The decoded body must equal kubectl's own JSON of the same pod.
const RICH_POD = {
  metadata: { labels: { tier: 'db' }, annotations: { note: 'n' } },
  spec: {
    initContainers: [{ name: 'init', image: 'busybox', command: ['true'], restartPolicy: 'Always' }],
    containers: [
      {
        name: 'rich',
        image: 'busybox',
        args: ['sleep', '3600'],
        workingDir: '/w',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP', hostPort: 5353 }],
        env: [
          { name: 'A', value: '' },
          { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'C', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'D', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: false } } },
          { name: 'E', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
        envFrom: [{ prefix: 'P_', configMapRef: { name: 'cm' } }, { secretRef: { name: 's', optional: true } }],
        resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi', 'example.com/gpu': '1' } },
        resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }],
        volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true, subPath: 'x', mountPropagation: 'HostToContainer' }],
        livenessProbe: { exec: { command: ['cat', '/ok'] }, initialDelaySeconds: 3, failureThreshold: 0 },
        readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X', value: '' }] }, periodSeconds: 2 },
        startupProbe: { tcpSocket: { port: 8080 }, terminationGracePeriodSeconds: 0 },
        lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { httpGet: { port: 80, host: 'h' } } },
        securityContext: {
          runAsUser: 0,
          runAsNonRoot: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
          seLinuxOptions: { level: 's0:c1' },
        },
        stdin: true,
        tty: true,
        imagePullPolicy: 'IfNotPresent',
      },
    ],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-0', readOnly: false } },
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '0' } },
      { name: 'host', hostPath: { path: '/srv', type: 'DirectoryOrCreate' } },
      { name: 'cfg', configMap: { name: 'cm', defaultMode: 420, items: [{ key: 'k', path: 'p', mode: 0 }], optional: false } },
      { name: 'sec', secret: { secretName: 's', defaultMode: 256 } },
      { name: 'dapi', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      {
        name: 'proj',
        projected: {
          defaultMode: 420,
          sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600, audience: 'a' } }, { configMap: { name: 'cm' } }],
        },
      },
      { name: 'nfs', nfs: { server: 'nfs.example', path: '/x' } },
      { name: 'eph', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } },
    ],
    restartPolicy: 'OnFailure',
    terminationGracePeriodSeconds: 0,
    activeDeadlineSeconds: 100,
    dnsPolicy: 'None',
    dnsConfig: { nameservers: ['192.0.2.53'], searches: ['svc.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    nodeSelector: { disk: 'ssd' },
    serviceAccountName: 'sa',
    automountServiceAccountToken: false,
    hostNetwork: false,
    shareProcessNamespace: true,
    hostname: 'h',
    subdomain: 'sub',
    securityContext: { fsGroup: 2000, runAsGroup: 0, sysctls: [{ name: 'net.core.somaxconn', value: '1024' }], supplementalGroups: [1, 2] },
    imagePullSecrets: [{ name: 'reg' }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n'] }] } }],
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { tier: 'db' } }, topologyKey: 'kubernetes.io/hostname' }],
      },
    },
    tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 0 }, { operator: 'Exists' }],
    hostAliases: [{ ip: '192.0.2.1', hostnames: ['a', 'b'] }],
    priorityClassName: 'high',
    priority: 0,
    readinessGates: [{ conditionType: 'example.com/ready' }],
    enableServiceLinks: false,
    preemptionPolicy: 'Never',
    overhead: { cpu: '10m' },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { tier: 'db' } }, minDomains: 1 }],
    setHostnameAsFQDN: true,
    os: { name: 'linux' },
    hostUsers: false,
    schedulingGates: [{ name: 'wait' }],
  },
};

const KUBECTL_133 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';

/**
 * Every leaf of `expected` is in `actual` with the same value, except the zero values of fields Go
 * leaves out of JSON (omitempty), which `actual` may lack. Returns the differences.
 */
function missingFrom(actual: unknown, expected: unknown, path = ''): string[] {
  if (expected === null || typeof expected !== 'object') {
    if (actual === expected) return [];
    if (actual === undefined && (expected === false || expected === 0 || expected === '')) return [];
    return [`${path}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`];
  }
  if (actual === null || typeof actual !== 'object') return [`${path}: ${JSON.stringify(actual)} instead of an object`];
  if (Array.isArray(expected) && (!Array.isArray(actual) || actual.length !== expected.length)) return [`${path}: ${JSON.stringify(actual)} instead of ${expected.length} items`];
  return Object.entries(expected).flatMap(([k, v]) => missingFrom((actual as Record<string, unknown>)[k], v, `${path}.${k}`));
}

test('live: kubectl 1.33 `debug --copy-to` of a pod using most of PodSpec: its protobuf copy decodes to the same spec', { skip: !existsSync(KUBECTL_133) && `${KUBECTL_133} is not installed` }, async (t) => {
  const source = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rich', namespace: 'default', uid: 'u1', resourceVersion: '5', ...RICH_POD.metadata }, spec: RICH_POD.spec, status: { phase: 'Running' } };
  const server = await startCaptureServer(
    (body, contentType) => (contentType.startsWith('application/vnd.kubernetes.protobuf') ? decodeKubernetesProtobuf(body) : JSON.parse(body.toString('utf8'))),
    { '/api/v1/namespaces/default/pods/rich': source },
  );
  const kubectl = kubectlFor(server.url, KUBECTL_133);
  t.after(async () => {
    await server.close();
    kubectl.cleanup();
  });
  const keep = ['--keep-labels', '--keep-annotations', '--keep-liveness', '--keep-readiness', '--keep-startup', '--keep-init-containers', '--same-node'];
  const r = await kubectl.run(['debug', 'rich', '-n', 'default', '--copy-to=rich-copy', '--image=busybox', '--container=debugger', ...keep, '--', 'sleep', '1']);
  assert.equal(r.code, 0, r.stderr);
  const req = server.requests.at(-1)!;
  assert.equal(req.path, '/api/v1/namespaces/default/pods');
  assert.equal(req.contentType, 'application/vnd.kubernetes.protobuf');
  const copy = decodeKubernetesProtobuf(req.body) as { metadata: Record<string, unknown>; spec: { containers: Array<{ name: string }> } };
  // kubectl 1.33 leaves the labels out of the copy whatever --keep-labels says
  assert.deepEqual(copy.metadata, { name: 'rich-copy', namespace: 'default', annotations: RICH_POD.metadata.annotations, creationTimestamp: null });
  assert.deepEqual(copy.spec.containers.map((c) => c.name), ['rich', 'debugger']);
  const spec = { ...copy.spec, containers: copy.spec.containers.slice(0, 1) };
  assert.deepEqual(missingFrom(spec, RICH_POD.spec, 'spec'), []);
});

test('damaged bodies are a 400 or 415 Status, never a crash', () => {
  // a deterministic generator, so a failure reproduces
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pod = pb.msg(2, pb.msg(1, pb.bytes(1, 'v'), pb.msg(2, pb.msg(2, pb.bytes(1, 'Memory'), pb.msg(2, pb.bytes(1, '1Gi'))))), pb.msg(2, pb.bytes(1, 'c'), pb.msg(10, pb.int(2, 3))));
  const lease = pb.msg(2, pb.bytes(1, 'me'), pb.msg(4, pb.int(1, T), pb.int(2, 5)));
  const bodies = [
    envelope('v1', 'Pod', pb.msg(1, pb.bytes(1, 'p'), pb.entry(11, 'a', 'b')), pod),
    envelope('coordination.k8s.io/v1', 'Lease', pb.msg(1, pb.bytes(1, 'l')), lease),
    envelope('v1', 'DeleteOptions', pb.int(1, 0), pb.msg(2, pb.bytes(1, 'u')), pb.bytes(5, 'All')),
  ];
  for (let i = 0; i < 3000; i++) {
    const body = Buffer.from(bodies[i % bodies.length]);
    const flips = 1 + Math.floor(random() * 4);
    for (let j = 0; j < flips; j++) body[4 + Math.floor(random() * (body.length - 4))] = Math.floor(random() * 256);
    const cut = random() < 0.2 ? body.subarray(0, Math.floor(random() * body.length)) : body;
    try {
      decodeKubernetesProtobuf(cut);
    } catch (e) {
      assert.ok(e instanceof ApiError && (e.code === 400 || e.code === 415), `body ${cut.toString('hex')}: ${String(e)}`);
    }
  }
});

test('RawExtension holding a protobuf object: decoded like a body of its own', () => {
  const inner = envelope('apps/v1', 'StatefulSet', pb.msg(2, pb.int(1, 3)));
  const revision = decodeKubernetesProtobuf(envelope('apps/v1', 'ControllerRevision', pb.msg(1, pb.bytes(1, 'r')), pb.msg(2, pb.bytes(1, inner)), pb.int(3, 1))) as any;
  assert.equal(revision.data.kind, 'StatefulSet');
  assert.equal(revision.data.spec.replicas, 3);
});

test('objects nested through RawExtensions without end are a 400, not a stack overflow', () => {
  let body = envelope('apps/v1', 'ControllerRevision');
  for (let i = 0; i < 50; i++) body = envelope('apps/v1', 'ControllerRevision', pb.msg(2, pb.bytes(1, body)));
  assert.throws(() => decodeKubernetesProtobuf(body), (e: unknown) => e instanceof ApiError && e.code === 400 && /embedded more than 8 deep/.test(e.message));
  // and the counter is back at zero afterwards
  assert.equal((decodeKubernetesProtobuf(envelope('apps/v1', 'ControllerRevision', pb.msg(2, pb.bytes(1, envelope('v1', 'ConfigMap'))))) as any).data.kind, 'ConfigMap');
});
