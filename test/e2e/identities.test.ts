// Each part of petset calls the API as its own identity, with upstream's bootstrap roles: the
// controllers as kube-system ServiceAccounts bound to system:controller:<name>, the shared
// informers as system:kube-controller-manager, the scheduler as system:kube-scheduler, the
// service proxy as system:kube-proxy, DNS as kube-system/coredns, the agents as
// system:node:<name>. Also the admin's client certificate in the kubeconfig, the
// ServiceAccount admission refusing a missing account, `auth can-i --list` as a node, a node
// refused on another node's pod, a chart-style install, the audit log with Pod Security's
// audit annotations, and the per-user bound on open watches. Real kubectl against `petset up`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { eventually, petsetBin, startCluster, tempDir, type Cluster } from './harness.js';

describe('each part of petset under its own identity, with the real kubectl', () => {
  let c: Cluster;
  let auditLog: string;
  let dir: string;
  before(async () => {
    dir = tempDir('petset-audit-');
    auditLog = path.join(dir, 'audit.log');
    // cluster-wide Pod Security as kube-apiserver's --admission-control-config-file sets it
    const admission = path.join(dir, 'admission.yaml');
    fs.writeFileSync(
      admission,
      `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: latest}
    exemptions: {namespaces: [exempted]}
`,
    );
    c = await startCluster({ extraArgs: ['--nodes', '2', '--audit-log-path', auditLog, '--max-watches-per-user', '3', '--admission-control-config-file', admission] });
  });
  after(async () => {
    await c?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has upstream bootstrap roles for the controller manager, its controllers, the scheduler, kube-proxy and CoreDNS', async () => {
    const canI = async (as: string, ...what: string[]) => (await c.kubectl(['auth', 'can-i', ...what, '--as', as], { allowFail: true })).stdout.trim();
    assert.equal(await canI('system:kube-controller-manager', 'watch', 'secrets', '-A'), 'yes');
    assert.equal(await canI('system:kube-controller-manager', 'delete', 'pods'), 'no');
    assert.equal(await canI('system:kube-scheduler', 'create', 'pods', '--subresource=binding'), 'yes');
    assert.equal(await canI('system:kube-scheduler', 'create', 'pods'), 'no');
    assert.equal(await canI('system:serviceaccount:kube-system:statefulset-controller', 'create', 'persistentvolumeclaims'), 'yes');
    assert.equal(await canI('system:serviceaccount:kube-system:statefulset-controller', 'get', 'secrets'), 'no');
    // a storage chart's account bound to the upstream provisioner role may make volumes
    await c.kubectl(['create', 'clusterrolebinding', 'local-storage-provisioner-pv-binding', '--clusterrole=system:persistent-volume-provisioner', '--serviceaccount=kube-system:local-storage-admin']);
    assert.equal(await canI('system:serviceaccount:kube-system:local-storage-admin', 'create', 'persistentvolumes'), 'yes');
    // the Job controller also deletes finished Jobs (upstream's ttl-after-finished-controller)
    assert.equal(await canI('system:serviceaccount:kube-system:job-controller', 'delete', 'jobs.batch'), 'yes');
    assert.equal(await canI('system:kube-proxy', 'watch', 'endpointslices.discovery.k8s.io', '-A'), 'yes');
    assert.equal(await canI('system:kube-proxy', 'get', 'secrets'), 'no');
    assert.equal(await canI('system:serviceaccount:kube-system:coredns', 'watch', 'services', '-A'), 'yes');
    assert.equal(await canI('system:serviceaccount:kube-system:coredns', 'create', 'services'), 'no');
    const binding = JSON.parse((await c.kubectl(['get', 'clusterrolebinding', 'system:controller:statefulset-controller', '-o', 'json'])).stdout);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'statefulset-controller', namespace: 'kube-system' }]);
    assert.equal(binding.metadata.labels['kubernetes.io/bootstrapping'], 'rbac-defaults');
    // the accounts exist, as upstream's controller manager makes them
    await eventually(async () => (await c.kubectl(['-n', 'kube-system', 'get', 'sa', 'statefulset-controller', 'generic-garbage-collector', 'coredns', '-o', 'name'], { allowFail: true })).stdout.trim().split('\n').length === 3);
  });

  it('the admin kubeconfig carries a client certificate of system:masters beside the token', async () => {
    const config: any = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8'));
    const user = config.users[0].user;
    assert.ok(user.token);
    const cert = new X509Certificate(Buffer.from(user['client-certificate-data'], 'base64'));
    assert.match(cert.subject, /CN=petset-admin/);
    assert.match(cert.subject, /O=system:masters/);
    // the certificate alone is the admin
    delete user.token;
    const certOnly = path.join(c.dataDir, 'cert-only.kubeconfig');
    fs.writeFileSync(certOnly, yaml.dump(config), { mode: 0o600 });
    const who = JSON.parse((await c.kubectl(['--kubeconfig', certOnly, 'auth', 'whoami', '-o', 'json'])).stdout);
    assert.equal(who.status.userInfo.username, 'petset-admin');
    assert.ok(who.status.userInfo.groups.includes('system:masters'));
    assert.equal((await c.kubectl(['--kubeconfig', certOnly, 'auth', 'can-i', 'delete', 'nodes'])).stdout.trim(), 'yes');
  });

  it('a pod naming a missing ServiceAccount is refused as upstream refuses it', async () => {
    const r = await c.kubectl(['run', 'orphan', '--image=busybox', '--overrides={"spec":{"serviceAccountName":"nobody"}}', '--', 'sleep', '3600'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\): pods "orphan" is forbidden: error looking up service account default\/nobody: serviceaccount "nobody" not found/);
    // a workload's controller is told the same, in an event
    await c.kubectl(['create', 'deployment', 'lonely', '--image=busybox']);
    await c.kubectl(['patch', 'deployment', 'lonely', '-p', '{"spec":{"template":{"spec":{"serviceAccountName":"nobody"}}}}']);
    await eventually(async () => {
      const ev = await c.kubectl(['get', 'events', '--field-selector', 'reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
      assert.match(ev.stdout, /error looking up service account default\/nobody: serviceaccount "nobody" not found/);
      return true;
    }, 30_000);
    // with the account in place, the pod runs under it
    await c.kubectl(['create', 'sa', 'nobody']);
    await c.kubectl(['rollout', 'status', 'deployment/lonely', '--timeout=60s'], { timeoutMs: 70_000 });
    const sa = await c.kubectl(['get', 'pods', '-l', 'app=lonely', '-o', 'jsonpath={.items[*].spec.serviceAccountName}']);
    assert.match(sa.stdout, /^nobody( nobody)*$/);
    await c.kubectl(['delete', 'deployment', 'lonely']);
  });

  it('a chart-style install (ServiceAccount, Role, RoleBinding, StatefulSet) runs its pods under their account', async () => {
    await c.kubectl(['create', 'namespace', 'chart']);
    await c.kubectl(['apply', '-n', 'chart', '-f', '-'], {
      input: `apiVersion: v1
kind: ServiceAccount
metadata: {name: db}
automountServiceAccountToken: true
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: db}
rules:
- {apiGroups: [""], resources: [endpoints, pods], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: db}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: db}
subjects: [{kind: ServiceAccount, name: db, namespace: chart}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: db
      containers: [{name: db, image: postgres:16}]
`,
    });
    await c.kubectl(['-n', 'chart', 'rollout', 'status', 'sts/db', '--timeout=90s'], { timeoutMs: 100_000 });
    const pods = JSON.parse((await c.kubectl(['-n', 'chart', 'get', 'pods', '-l', 'app=db', '-o', 'json'])).stdout).items;
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.spec.serviceAccountName, 'db');
      assert.ok(p.spec.volumes.some((v: any) => v.name.startsWith('kube-api-access-')));
    }
    const sa = 'system:serviceaccount:chart:db';
    assert.equal((await c.kubectl(['-n', 'chart', 'auth', 'can-i', 'list', 'pods', '--as', sa])).stdout.trim(), 'yes');
    assert.equal((await c.kubectl(['-n', 'chart', 'auth', 'can-i', 'delete', 'pods', '--as', sa], { allowFail: true })).stdout.trim(), 'no');
  });

  it('a node credential lists what it can (incomplete, as upstream) and cannot touch another node\u2019s pod', async () => {
    const node1 = path.join(c.dataDir, 'node-1.kubeconfig');
    fs.writeFileSync(node1, execFileSync(process.execPath, [petsetBin, 'node', 'kubeconfig', 'node-1', '--data-dir', c.dataDir], { encoding: 'utf8' }), { mode: 0o600 });
    const list = await c.kubectl(['--kubeconfig', node1, 'auth', 'can-i', '--list']);
    assert.match(list.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io/);
    const review = JSON.parse(
      (await c.kubectl(['--kubeconfig', node1, 'create', '--validate=false', '-o', 'json', '-f', '-'], { input: '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"}}' })).stdout,
    );
    assert.equal(review.status.incomplete, true);
    assert.equal(review.status.evaluationError, 'node authorizer does not support user rule resolution');
    await c.kubectl(['run', 'on2', '--image=busybox', '--overrides={"spec":{"nodeName":"node-2"}}', '--', 'sleep', '3600']);
    const patch = await c.kubectl(['--kubeconfig', node1, 'label', 'pod', 'on2', 'x=y'], { allowFail: true });
    assert.match(patch.stderr, /pods "on2" is forbidden: User "system:node:node-1" cannot patch resource "pods" in API group "" in the namespace "default"/);
    const del = await c.kubectl(['--kubeconfig', node1, 'delete', 'pod', 'on2', '--wait=false'], { allowFail: true });
    assert.match(del.stderr, /node "node-1" can only delete pods with spec.nodeName set to itself/);
    // its status too (kubectl would first read pods/status, which no node may: straight over HTTPS)
    const user = (yaml.load(fs.readFileSync(node1, 'utf8')) as any).users[0].user;
    const status = await new Promise<{ code: number; body: any }>((resolve, reject) => {
      const req = https.request(
        `${c.url}/api/v1/namespaces/default/pods/on2/status`,
        {
          method: 'PATCH',
          ca: fs.readFileSync(path.join(c.dataDir, 'pki', 'ca.crt')),
          cert: Buffer.from(user['client-certificate-data'], 'base64'),
          key: Buffer.from(user['client-key-data'], 'base64'),
          headers: { 'content-type': 'application/merge-patch+json' },
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ code: res.statusCode!, body: JSON.parse(body) }));
        },
      );
      req.on('error', reject);
      req.end('{"status":{"message":"x"}}');
    });
    assert.equal(status.code, 403);
    assert.match(status.body.message, /node "node-1" can only update pod status for pods with spec.nodeName set to itself/);
  });

  it('Pod Security audit and the new baseline checks: refused in upstream words, recorded in the audit log', async () => {
    await c.kubectl(['create', 'namespace', 'audited']);
    await c.kubectl(['label', 'namespace', 'audited', 'pod-security.kubernetes.io/audit=restricted', 'pod-security.kubernetes.io/enforce=baseline']);
    await c.kubectl(['-n', 'audited', 'run', 'plain', '--image=busybox', '--', 'sleep', '3600']);
    const bad = await c.kubectl(['-n', 'audited', 'apply', '-f', '-'], {
      allowFail: true,
      input: `apiVersion: v1
kind: Pod
metadata: {name: tuned}
spec:
  securityContext:
    sysctls: [{name: kernel.msgmax, value: "65536"}]
    seLinuxOptions: {type: spc_t}
  containers:
  - name: c
    image: busybox
    securityContext: {procMount: Unmasked, appArmorProfile: {type: Unconfined}}
`,
    });
    assert.match(
      bad.stderr,
      /pods "tuned" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile \(container "c" must not set AppArmor profile type to "Unconfined"\), procMount \(container "c" must not set securityContext.procMount to "Unmasked"\), seLinuxOptions \(pod set forbidden securityContext.seLinuxOptions: type "spc_t"\), forbidden sysctls \(kernel.msgmax\)/,
    );
    await eventually(async () => {
      const events = fs.readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const create = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && e.objectRef?.namespace === 'audited' && e.annotations?.['pod-security.kubernetes.io/audit-violations']);
      assert.ok(create, 'no audited pod create in the audit log');
      assert.equal(create.apiVersion, 'audit.k8s.io/v1');
      assert.equal(create.level, 'Metadata');
      assert.equal(create.stage, 'ResponseComplete');
      assert.equal(create.user.username, 'petset-admin');
      assert.equal(create.annotations['pod-security.kubernetes.io/enforce-policy'], 'baseline:latest');
      assert.match(create.annotations['pod-security.kubernetes.io/audit-violations'], /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
      const refused = events.find((e) => e.objectRef?.name === 'tuned' && e.responseStatus?.code === 403);
      assert.ok(refused, 'the refused pod is audited too');
      return true;
    });
  });

  it('Pod Security defaults and exemptions from --admission-control-config-file', async () => {
    const priv = await c.kubectl(['run', 'priv', '--image=busybox', '--privileged'], { allowFail: true });
    assert.match(priv.stderr, /pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "priv" must not set securityContext.privileged=true\)/);
    await c.kubectl(['create', 'namespace', 'exempted']);
    await c.kubectl(['-n', 'exempted', 'run', 'priv', '--image=busybox', '--privileged']);
    await eventually(async () => {
      const events = fs.readFileSync(auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      return events.some((e) => e.verb === 'create' && e.objectRef?.namespace === 'exempted' && e.objectRef?.name === 'priv' && e.annotations?.['pod-security.kubernetes.io/exempt'] === 'namespace');
    });
  });

  it('bounds the watches one user holds open (429 beyond --max-watches-per-user)', async () => {
    const config: any = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8'));
    const token = config.users[0].user.token;
    const ca = fs.readFileSync(path.join(c.dataDir, 'pki', 'ca.crt'), 'utf8');
    const open: Array<import('node:http').ClientRequest> = [];
    const watch = () =>
      new Promise<{ status: number; body: string; retryAfter?: string }>((resolve, reject) => {
        const req = https.get(`${c.url}/api/v1/namespaces/default/configmaps?watch=1`, { ca, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
          if (res.statusCode === 200) return resolve({ status: 200, body: '' });
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body, retryAfter: res.headers['retry-after'] as string | undefined }));
        });
        req.on('error', reject);
        open.push(req);
      });
    try {
      // kubectl's own watches through this run are gone; the admin may hold 3 at once
      for (let i = 0; i < 3; i++) assert.equal((await watch()).status, 200);
      const fourth = await watch();
      assert.equal(fourth.status, 429);
      assert.equal(fourth.retryAfter, '1');
      const status = JSON.parse(fourth.body);
      assert.equal(status.reason, 'TooManyRequests');
      assert.equal(status.message, 'Too many requests, please try again later.');
      // other users are not held back, and one closed watch frees a place
      assert.equal((await c.kubectl(['get', 'ns', 'default', '-o', 'name'])).stdout.trim(), 'namespace/default');
      open.shift()!.destroy();
      await eventually(async () => (await watch()).status === 200);
    } finally {
      for (const r of open) r.destroy();
    }
  });

  // last: it takes a right away from a controller's role
  it('controllers write as their own ServiceAccount: without its rule the ReplicaSet controller is refused, in its events', async () => {
    await c.kubectl(['patch', 'clusterrole', 'system:controller:replicaset-controller', '--type=json', '-p', '[{"op":"replace","path":"/rules/3/verbs","value":["delete","list","patch","watch"]}]']);
    await c.kubectl(['create', 'deployment', 'denied', '--image=busybox']);
    await eventually(async () => {
      const ev = await c.kubectl(['get', 'events', '--field-selector', 'reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
      assert.match(ev.stdout, /Error creating: pods is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods" in API group "" in the namespace "default"/);
      return true;
    }, 30_000);
    // the deployment controller, with its own account, did its part
    assert.equal((await c.kubectl(['get', 'rs', '-l', 'app=denied', '-o', 'name'])).stdout.trim().split('\n').length, 1);
  });
});
