import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../src/api/errors.js';
import { decodeKubernetesProtobuf } from '../../src/apiserver/protobuf.js';
import { BLOB_BYTES, KUBECTL_CREATE_CASES } from './fixtures/kubectl-protobuf.js';
import { kubectlFor, startCaptureServer } from './fixtures/kubectl-capture.js';

/* ------------------------------------------------------------------ a tiny encoder for hand-made bodies */

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
  time: (field: number, seconds: number, nanos = 0) => pb.msg(field, pb.int(1, seconds), ...(nanos ? [pb.int(2, nanos)] : [])),
};

function envelope(apiVersion: string, kind: string, raw: Buffer, ...extra: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), pb.msg(1, pb.bytes(1, apiVersion), pb.bytes(2, kind)), pb.bytes(2, raw), ...extra]);
}

const T = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
const T_JSON = '2026-01-02T03:04:05Z';

function apiError(code: number, message: RegExp | string) {
  return (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  };
}

/* ------------------------------------------------------------------ bodies kubectl sent */

for (const c of KUBECTL_CREATE_CASES) {
  test(`decodes what \`kubectl ${c.args.join(' ')}\` sends`, () => {
    assert.deepEqual(decodeKubernetesProtobuf(Buffer.from(c.body, 'base64')), c.json);
  });
}

/* ------------------------------------------------------------------ hand-made bodies */

test('ObjectMeta: every field, zero values that pointers keep, and unknown fields skipped', () => {
  const meta = pb.msg(
    1,
    pb.bytes(1, 'web-0'),
    pb.bytes(2, 'web-'),
    pb.bytes(3, 'default'),
    pb.bytes(4, ''),
    pb.bytes(5, 'uid-1'),
    pb.bytes(6, '42'),
    pb.int(7, 3),
    pb.time(8, T, 500),
    pb.time(9, T + 60),
    pb.int(10, 0),
    pb.entry(11, 'app', 'web'),
    pb.entry(12, 'note', ''),
    pb.msg(13, pb.bytes(1, 'StatefulSet'), pb.bytes(3, 'web'), pb.bytes(4, 'uid-0'), pb.bytes(5, 'apps/v1'), pb.int(6, 1), pb.int(7, 0)),
    pb.msg(13, pb.bytes(1, 'Other')),
    pb.bytes(14, 'example.com/f'),
    pb.msg(17, pb.bytes(1, 'kubectl'), pb.bytes(2, 'Update'), pb.bytes(3, 'v1'), pb.time(4, T), pb.bytes(6, 'FieldsV1'), pb.msg(7, pb.bytes(1, '{"f:data":{}}')), pb.bytes(8, '')),
    pb.int(99, 5),
    Buffer.concat([varint(BigInt(98 * 8 + 5)), Buffer.alloc(4)]),
    Buffer.concat([varint(BigInt(97 * 8 + 1)), Buffer.alloc(8)]),
  );
  const body = envelope('v1', 'ConfigMap', Buffer.concat([meta, pb.entry(2, 'k', 'v'), pb.msg(2, pb.bytes(1, 'novalue')), pb.int(4, 0)]));
  assert.deepEqual(decodeKubernetesProtobuf(body), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'web-0',
      generateName: 'web-',
      namespace: 'default',
      uid: 'uid-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: T_JSON,
      deletionTimestamp: '2026-01-02T03:05:05Z',
      deletionGracePeriodSeconds: 0,
      labels: { app: 'web' },
      annotations: { note: '' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-0', controller: true, blockOwnerDeletion: false },
        { apiVersion: '', kind: 'Other', name: '', uid: '' },
      ],
      finalizers: ['example.com/f'],
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: T_JSON, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }],
    },
    immutable: false,
    data: { k: 'v', novalue: '' },
  });
});

test('a message without metadata, spec or status still shows them, as Go JSON does', () => {
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'Service', Buffer.alloc(0))), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { creationTimestamp: null },
    spec: {},
    status: { loadBalancer: {} },
  });
});

test('Secret: bytes become base64, stringData and immutable', () => {
  const raw = Buffer.concat([pb.msg(1, pb.bytes(1, 's')), pb.entry(2, 'bin', BLOB_BYTES), pb.entry(4, 'plain', 'text'), pb.bytes(3, 'Opaque'), pb.int(5, 1)]);
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'Secret', raw)), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', creationTimestamp: null },
    immutable: true,
    data: { bin: 'AP8B/g==' },
    stringData: { plain: 'text' },
    type: 'Opaque',
  });
});

test('CertificateSigningRequest: extra is a map of ExtraValue lists', () => {
  const spec = Buffer.concat([pb.bytes(1, 'REQ'), pb.bytes(5, 'client auth'), pb.entry(6, 'scopes', Buffer.concat([pb.bytes(1, 'a'), pb.bytes(1, 'b')])), pb.bytes(7, 'example.com/x')]);
  const raw = Buffer.concat([pb.msg(1, pb.bytes(1, 'c')), pb.msg(2, spec)]);
  assert.deepEqual(decodeKubernetesProtobuf(envelope('certificates.k8s.io/v1', 'CertificateSigningRequest', raw)), {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'c', creationTimestamp: null },
    spec: { request: Buffer.from('REQ').toString('base64'), signerName: 'example.com/x', usages: ['client auth'], extra: { scopes: ['a', 'b'] } },
    status: {},
  });
});

test('Namespace: finalizers, phase and conditions', () => {
  const raw = Buffer.concat([
    pb.msg(1, pb.bytes(1, 'ns')),
    pb.msg(2, pb.bytes(1, 'kubernetes')),
    pb.msg(3, pb.bytes(1, 'Terminating'), pb.msg(2, pb.bytes(1, 'NamespaceDeletionContentFailure'), pb.bytes(2, 'False'), pb.bytes(5, ''))),
  ]);
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'Namespace', raw)), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ns', creationTimestamp: null },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Terminating', conditions: [{ type: 'NamespaceDeletionContentFailure', status: 'False', lastTransitionTime: null }] },
  });
});

test('ServiceAccount: secrets, imagePullSecrets, automount', () => {
  const raw = Buffer.concat([pb.msg(1, pb.bytes(1, 'sa')), pb.msg(2, pb.bytes(3, 'tok'), pb.bytes(1, '')), pb.msg(3, pb.bytes(1, 'reg')), pb.int(4, 0)]);
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'ServiceAccount', raw)), {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'sa', creationTimestamp: null },
    secrets: [{ name: 'tok' }],
    imagePullSecrets: [{ name: 'reg' }],
    automountServiceAccountToken: false,
  });
});

test('Service: named target ports, negative int32, dual stack, pointers and status', () => {
  const spec = pb.msg(
    2,
    pb.msg(1, pb.bytes(1, 'http'), pb.bytes(2, 'TCP'), pb.bytes(6, 'http'), pb.int(3, 80), pb.msg(4, pb.int(1, 1), pb.int(2, 0), pb.bytes(3, 'web')), pb.int(5, -1)),
    pb.msg(1, pb.int(3, 81)),
    pb.entry(2, 'app', 'web'),
    pb.bytes(3, '10.0.0.1'),
    pb.bytes(18, '10.0.0.1'),
    pb.bytes(18, 'fd00::1'),
    pb.bytes(4, 'ClusterIP'),
    pb.bytes(7, 'ClientIP'),
    pb.int(13, 1),
    pb.msg(14, pb.msg(1, pb.int(1, 10800))),
    pb.bytes(19, 'IPv4'),
    pb.bytes(19, 'IPv6'),
    pb.bytes(17, 'PreferDualStack'),
    pb.int(20, 0),
    pb.bytes(22, 'Local'),
  );
  const status = pb.msg(
    3,
    pb.msg(1, pb.msg(1, pb.bytes(1, '192.0.2.1'), pb.msg(4, pb.int(1, 80), pb.bytes(2, 'TCP')))),
    pb.msg(2, pb.bytes(1, 'Ready'), pb.bytes(2, 'True'), pb.time(4, T)),
  );
  assert.deepEqual(decodeKubernetesProtobuf(envelope('v1', 'Service', Buffer.concat([pb.msg(1, pb.bytes(1, 'web')), spec, status]))), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', creationTimestamp: null },
    spec: {
      ports: [
        { name: 'http', protocol: 'TCP', appProtocol: 'http', port: 80, targetPort: 'web', nodePort: -1 },
        { port: 81, targetPort: 0 },
      ],
      selector: { app: 'web' },
      clusterIP: '10.0.0.1',
      clusterIPs: ['10.0.0.1', 'fd00::1'],
      type: 'ClusterIP',
      sessionAffinity: 'ClientIP',
      publishNotReadyAddresses: true,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
      allocateLoadBalancerNodePorts: false,
      internalTrafficPolicy: 'Local',
    },
    status: {
      loadBalancer: { ingress: [{ ip: '192.0.2.1', ports: [{ port: 80, protocol: 'TCP' }] }] },
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: T_JSON, reason: '', message: '' }],
    },
  });
});

test('PodDisruptionBudget: minAvailable 0 is kept, disrupted pods map to times', () => {
  const raw = Buffer.concat([
    pb.msg(1, pb.bytes(1, 'pdb')),
    pb.msg(2, pb.msg(1, pb.int(1, 0), pb.int(2, 0)), pb.msg(2), pb.bytes(4, 'AlwaysAllow')),
    pb.msg(3, pb.int(1, 2), pb.msg(2, pb.bytes(1, 'web-0'), pb.time(2, T)), pb.int(3, 1), pb.int(4, 3), pb.int(5, 2), pb.int(6, 3)),
  ]);
  assert.deepEqual(decodeKubernetesProtobuf(envelope('policy/v1', 'PodDisruptionBudget', raw)), {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'pdb', creationTimestamp: null },
    spec: { minAvailable: 0, selector: {}, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    status: { observedGeneration: 2, disruptedPods: { 'web-0': T_JSON }, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
  });
});

/* ------------------------------------------------------------------ errors */

const ACCEPTED = ' - accepted media types include: application/json, application/yaml';

test('kinds the server does not serve are 415', () => {
  assert.throws(() => decodeKubernetesProtobuf(envelope('example.com/v1', 'Widget', Buffer.alloc(0))), apiError(415, `protobuf request bodies are not supported for example.com/v1, Kind=Widget${ACCEPTED}`));
  assert.throws(
    () => decodeKubernetesProtobuf(envelope('policy/v1beta1', 'PodDisruptionBudget', Buffer.alloc(0))),
    apiError(415, `protobuf request bodies are not supported for policy/v1beta1, Kind=PodDisruptionBudget${ACCEPTED}`),
  );
  assert.throws(
    () => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', Buffer.alloc(0), pb.bytes(3, 'gzip'))),
    apiError(415, `protobuf bodies with content encoding "gzip" are not supported${ACCEPTED}`),
  );
});

test('malformed bodies are 400', () => {
  assert.throws(
    () => decodeKubernetesProtobuf(Buffer.from('{"kind":"ConfigMap"}')),
    apiError(400, 'unable to decode protobuf body: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]'),
  );
  const good = Buffer.from(KUBECTL_CREATE_CASES[0].body, 'base64');
  assert.throws(() => decodeKubernetesProtobuf(good.subarray(0, good.length - 3)), apiError(400, /runs past the end|truncated/));
  assert.throws(() => decodeKubernetesProtobuf(envelope('v1', '', Buffer.alloc(0))), apiError(400, /'Kind' is missing/));
  assert.throws(
    () => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', pb.int(2, 5))),
    apiError(400, 'unable to decode protobuf body: ConfigMap.data: wire type 0, expected 2'),
  );
  const badTargetPort = pb.msg(2, pb.msg(1, pb.msg(4, pb.int(1, 2))));
  assert.throws(() => decodeKubernetesProtobuf(envelope('v1', 'Service', badTargetPort)), apiError(400, /Service\.spec\.ports\[0\]\.targetPort: impossible IntOrString\.Type 2/));
  const badFields = pb.msg(1, pb.msg(17, pb.msg(7, pb.bytes(1, '{nope'))));
  assert.throws(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', badFields)), apiError(400, /ConfigMap\.metadata\.managedFields\[0\]\.fieldsV1/));
  assert.throws(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', pb.msg(1, pb.time(8, 1e15)))), apiError(400, /out of range/));
  assert.throws(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', pb.msg(1, pb.time(8, 253402300800)))), apiError(400, /out of range/));
  assert.throws(() => decodeKubernetesProtobuf(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0b])])), apiError(400, /wire type 3/));
});

/* ------------------------------------------------------------------ the real kubectl */

const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('live: the installed kubectl sends protobuf that decodes to its own dry-run JSON', { skip: !hasKubectl && 'kubectl not installed' }, async (t) => {
  const server = await startCaptureServer((body, contentType) =>
    contentType.startsWith('application/vnd.kubernetes.protobuf') ? decodeKubernetesProtobuf(body) : JSON.parse(body.toString('utf8')),
  );
  const kubectl = kubectlFor(server.url);
  const dir = mkdtempSync(join(tmpdir(), 'petset-protobuf-'));
  t.after(async () => {
    await server.close();
    kubectl.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'blob.bin'), BLOB_BYTES);
  for (const c of KUBECTL_CREATE_CASES) {
    const args = c.args.map((a) => a.replace('{blob}', join(dir, 'blob.bin')));
    const dryRun = await kubectl.run([...args, '--dry-run=client', '-o', 'json']);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    const before = server.requests.length;
    const created = await kubectl.run(args);
    assert.equal(created.code, 0, `${args.join(' ')}: ${created.stderr}`);
    assert.match(created.stdout, / created\n$/);
    assert.equal(server.requests.length, before + 1);
    const req = server.requests[before];
    assert.equal(req.contentType, 'application/vnd.kubernetes.protobuf', args.join(' '));
    // Newer Go/kubectl may leave out `creationTimestamp: null`; it means the same either way.
    assert.deepEqual(withoutNullCreation(decodeKubernetesProtobuf(req.body)), withoutNullCreation(JSON.parse(dryRun.stdout)), args.join(' '));
  }
});

function withoutNullCreation(obj: unknown): unknown {
  const o = structuredClone(obj) as { metadata?: Record<string, unknown> };
  if (o.metadata?.creationTimestamp === null) delete o.metadata.creationTimestamp;
  return o;
}
