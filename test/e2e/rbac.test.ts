// Who may do what, through the real kubectl and raw HTTPS against `petset up`: client
// certificates from petset's CA name users and groups, RBAC decides (with upstream's 403
// texts), `kubectl auth can-i|whoami`, impersonation, the escalation check, the default
// roles (view aggregated), the Node authorizer and NodeRestriction for a node's certificate,
// and bearer-token parsing as upstream's.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClientCert } from '../../src/cli/pki.js';
import { eventually, petsetBin, startCluster, type Cluster } from './harness.js';

interface Identity {
  kubeconfig: string;
  cert: string;
  key: string;
}

function identity(c: Cluster, cn: string, groups: string[] = []): Identity {
  const pki = path.join(c.dataDir, 'pki');
  const ca = { certPem: fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'ca.key'), 'utf8') };
  const cert = createClientCert(ca, { commonName: cn, organizations: groups });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = path.join(c.dataDir, `${cn.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${c.url}, certificate-authority-data: ${b64(ca.certPem)}}}]
users: [{name: u, user: {client-certificate-data: ${b64(cert.certPem)}, client-key-data: ${b64(cert.keyPem)}}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]
current-context: x
`,
  );
  return { kubeconfig, cert: cert.certPem, key: cert.keyPem };
}

function raw(c: Cluster, pathname: string, opts: { headers?: Record<string, string>; who?: Identity; method?: string; body?: string } = {}): Promise<{ status: number; json: any }> {
  const ca = fs.readFileSync(path.join(c.dataDir, 'pki', 'ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${c.url}${pathname}`,
      { method: opts.method ?? 'GET', ca, cert: opts.who?.cert, key: opts.who?.key, headers: { ...opts.headers, ...(opts.body ? { 'content-type': 'application/json' } : {}) }, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode!, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('RBAC, the Node authorizer and authentication with the real kubectl', () => {
  let c: Cluster;
  let alice: Identity;
  let node1: Identity;
  let adminToken: string;
  const as = (who: Identity, args: string[], input?: string) => c.kubectl(['--kubeconfig', who.kubeconfig, ...args], { allowFail: true, input });

  before(async () => {
    c = await startCluster();
    alice = identity(c, 'alice');
    node1 = identity(c, 'system:node:node-1', ['system:nodes']);
    adminToken = fs.readFileSync(path.join(c.dataDir, 'pki', 'admin.token'), 'utf8').trim();
  });
  after(async () => {
    await c?.stop();
  });

  it('a certificate with CN=alice and no groups is alice in system:authenticated, and may do nothing else', async () => {
    const who = await as(alice, ['auth', 'whoami']);
    assert.match(who.stdout, /Username\s+alice/);
    assert.match(who.stdout, /Groups\s+\[system:authenticated\]/);
    const secrets = await as(alice, ['get', 'secrets']);
    assert.equal(secrets.code, 1);
    assert.match(secrets.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"/);
    const del = await as(alice, ['delete', 'statefulset', 'web']);
    assert.match(del.stderr, /statefulsets\.apps "web" is forbidden: User "alice" cannot delete resource "statefulsets" in API group "apps" in the namespace "default"/);
    const nodes = await as(alice, ['get', 'nodes']);
    assert.match(nodes.stderr, /nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope/);
  });

  it('the admin keeps every right; can-i answers for others with --as', async () => {
    assert.match((await c.kubectl(['auth', 'whoami'])).stdout, /Groups\s+\[system:masters system:authenticated\]/);
    assert.equal((await c.kubectl(['auth', 'can-i', '*', '*'])).stdout.trim(), 'yes');
    const list = await c.kubectl(['auth', 'can-i', '--list']);
    assert.match(list.stdout, /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
    const no = await c.kubectl(['auth', 'can-i', 'delete', 'statefulsets', '--as', 'alice'], { allowFail: true });
    assert.equal(no.stdout.trim(), 'no');
    assert.equal(no.code, 1);
  });

  it('a Role and RoleBinding let alice get pods and nothing more; can-i --list shows it', async () => {
    await c.kubectl(['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods']);
    await c.kubectl(['create', 'rolebinding', 'alice-reads', '--role=pod-reader', '--user=alice']);
    const wide = await c.kubectl(['get', 'rolebinding', 'alice-reads', '-o', 'wide']);
    assert.match(wide.stdout, /alice-reads\s+Role\/pod-reader\s+\S+\s+alice/);
    await eventually(async () => (await as(alice, ['get', 'pods'])).code === 0, 10_000, 'alice lists pods');
    assert.equal((await as(alice, ['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes');
    assert.equal((await as(alice, ['auth', 'can-i', 'delete', 'pods'])).stdout.trim(), 'no');
    assert.equal((await as(alice, ['auth', 'can-i', 'list', 'pods', '-n', 'kube-system'])).stdout.trim(), 'no');
    const rules = await as(alice, ['auth', 'can-i', '--list']);
    assert.match(rules.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.match(rules.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
  });

  it('a binding to a missing role says so in the 403', async () => {
    await c.kubectl(['create', 'rolebinding', 'alice-ghost', '--role=ghost', '--user=alice']);
    const r = await eventually(async () => {
      const x = await as(alice, ['get', 'configmaps']);
      return /RBAC/.test(x.stderr) && x;
    });
    assert.match(r.stderr, /configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default": RBAC: role\.rbac\.authorization\.k8s\.io "ghost" not found/);
    await c.kubectl(['delete', 'rolebinding', 'alice-ghost']);
  });

  it('a Role granting more than its author holds is refused (escalation check)', async () => {
    await c.kubectl(['create', 'role', 'role-writer', '--verb=create,update', '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io']);
    await c.kubectl(['create', 'rolebinding', 'alice-writes', '--role=role-writer', '--user=alice']);
    const r = await eventually(async () => {
      const x = await as(alice, ['create', 'role', 'deleter', '--verb=delete,get', '--resource=pods']);
      return /attempting to grant/.test(x.stderr) && x;
    });
    assert.match(
      r.stderr,
      /roles\.rbac\.authorization\.k8s\.io "deleter" is forbidden: user "alice" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["pods"\], Verbs:\["delete"\]\}/,
    );
    // within what alice holds, it goes through
    assert.equal((await as(alice, ['create', 'role', 'reader-too', '--verb=get', '--resource=pods'])).code, 0);
    // binding the cluster's admin role is granting its rules too
    const bind = await as(alice, ['create', 'rolebinding', 'alice-admin', '--clusterrole=admin', '--user=alice']);
    assert.match(bind.stderr, /rolebindings\.rbac\.authorization\.k8s\.io "alice-admin" is forbidden: user "alice" .* is attempting to grant RBAC permissions not currently held/);
  });

  it('impersonation is honoured for those allowed to impersonate, 403 for others', async () => {
    const r = await as(alice, ['get', 'pods', '--as', 'bob']);
    assert.match(r.stderr, /users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/);
    const who = await c.kubectl(['auth', 'whoami', '--as', 'carol', '--as-group', 'devs']);
    assert.match(who.stdout, /Username\s+carol/);
    assert.match(who.stdout, /Groups\s+\[devs system:authenticated\]/);
    const denied = await c.kubectl(['get', 'secrets', '--as', 'carol'], { allowFail: true });
    assert.match(denied.stderr, /User "carol" cannot list resource "secrets"/);
  });

  it('view, edit and admin are aggregated from the system:aggregate-to-* roles, and view works when bound', async () => {
    const view = JSON.parse((await c.kubectl(['get', 'clusterrole', 'view', '-o', 'json'])).stdout);
    assert.deepEqual(view.aggregationRule.clusterRoleSelectors, [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }]);
    await eventually(async () => JSON.parse((await c.kubectl(['get', 'clusterrole', 'admin', '-o', 'json'])).stdout).rules?.length > 20);
    await c.kubectl(['create', 'clusterrolebinding', 'alice-views', '--clusterrole=view', '--user=alice']);
    await eventually(async () => (await as(alice, ['get', 'statefulsets', '-A'])).code === 0, 10_000, 'alice views statefulsets');
    assert.match((await as(alice, ['get', 'secrets', '-A'])).stderr, /cannot list resource "secrets"/);
    // a new role labelled aggregate-to-view widens view
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view-secrets, labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}
rules: [{apiGroups: [""], resources: [secrets], verbs: [list]}]
`,
    });
    await eventually(async () => (await as(alice, ['get', 'secrets', '-A'])).code === 0, 10_000, 'aggregated rule reaches alice');
    await c.kubectl(['delete', 'clusterrolebinding', 'alice-views']);
    await c.kubectl(['delete', 'clusterrole', 'view-secrets']);
  });

  it('a node certificate reaches its own objects only (Node authorizer, NodeRestriction)', async () => {
    await c.kubectl(['create', 'secret', 'generic', 'unmounted', '--from-literal=a=b']);
    const secret = await as(node1, ['get', 'secret', 'unmounted']);
    assert.match(secret.stderr, /secrets "unmounted" is forbidden: User "system:node:node-1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'node-1' and this object/);
    assert.match((await as(node1, ['get', 'secrets'])).stderr, /cannot list resource "secrets"/);
    assert.equal((await as(node1, ['get', 'node', 'node-1', '-o', 'name'])).stdout.trim(), 'node/node-1');
    assert.equal((await as(node1, ['-n', 'kube-node-lease', 'get', 'lease', 'node-1', '-o', 'name'])).code, 0);
    const other = await as(node1, ['-n', 'kube-node-lease', 'delete', 'lease', 'node-2']);
    assert.match(other.stderr, /can only access node lease with the same name as the requesting node/);
    const create = await as(node1, ['create', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata: {name: node-9}\n');
    assert.match(create.stderr, /nodes "node-9" is forbidden: node "node-1" is not allowed to modify node "node-9"/);
    const pod = await as(node1, ['run', 'sneaky', '--image', 'busybox']);
    assert.match(pod.stderr, /pods "sneaky" is forbidden: pod does not have "kubernetes\.io\/config\.mirror" annotation, node "node-1" can only create mirror pods/);
    // a pod of node-1 that mounts the secret makes it readable to node-1
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: mounts}
spec:
  nodeName: node-1
  containers: [{name: c, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: s, mountPath: /s}]}]
  volumes: [{name: s, secret: {secretName: unmounted}}]
`,
    });
    assert.equal((await as(node1, ['get', 'secret', 'unmounted', '-o', 'name'])).stdout.trim(), 'secret/unmounted');
  });

  it('petset agent runs a node on its own credential from `petset node kubeconfig`', async () => {
    const kc = path.join(c.dataDir, 'edge.kubeconfig');
    fs.writeFileSync(kc, execFileSync(process.execPath, [petsetBin, 'node', 'kubeconfig', 'edge-1', '--data-dir', c.dataDir]));
    assert.match((await c.kubectl(['--kubeconfig', kc, 'auth', 'whoami'])).stdout, /Username\s+system:node:edge-1/);
    const agent = spawn(process.execPath, [petsetBin, 'agent', '--kubeconfig', kc, '--node-name', 'edge-1'], { stdio: 'ignore' });
    try {
      await eventually(async () => /edge-1\s+Ready/.test((await c.kubectl(['get', 'nodes'])).stdout), 30_000, 'edge-1 Ready');
      await c.kubectl(['run', 'on-edge', '--image=busybox', '--overrides={"spec":{"nodeName":"edge-1"}}', '--', 'sleep', '3600']);
      await eventually(async () => (await c.kubectl(['get', 'pod', 'on-edge', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running', 30_000, 'pod Running on edge-1');
      // and the credential is a node's: other nodes' objects are out of reach
      const patch = await c.kubectl(['--kubeconfig', kc, 'label', 'node', 'node-1', 'stolen=yes'], { allowFail: true });
      assert.match(patch.stderr, /node "edge-1" is not allowed to modify node "node-1"/);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => (agent.exitCode !== null ? r(undefined) : agent.once('exit', r)));
    }
  });

  it('bearer tokens are parsed as upstream: scheme in any case, one space, the client certificate first', async () => {
    assert.equal((await raw(c, '/api/v1/namespaces', { headers: { authorization: `bearer ${adminToken}` } })).status, 200);
    assert.equal((await raw(c, '/api/v1/namespaces', { headers: { authorization: `BEARER ${adminToken}` } })).status, 200);
    const twoSpaces = await raw(c, '/api/v1/namespaces', { headers: { authorization: `Bearer  ${adminToken}` } });
    assert.equal(twoSpaces.status, 401);
    assert.equal(twoSpaces.json.reason, 'Unauthorized');
    assert.equal((await raw(c, '/api/v1/namespaces', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    // upstream's union tries the client certificate before the token: alice stays alice
    const both = await raw(c, '/api/v1/namespaces/default/secrets', { who: alice, headers: { authorization: 'Bearer wrong' } });
    assert.equal(both.status, 403);
    assert.match(both.json.message, /User "alice" cannot list/);
    // SelfSubjectReview over raw HTTPS
    const ssr = await raw(c, '/apis/authentication.k8s.io/v1/selfsubjectreviews', { who: alice, method: 'POST', body: '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' });
    assert.equal(ssr.status, 201);
    assert.deepEqual(ssr.json.status.userInfo, { username: 'alice', groups: ['system:authenticated'] });
    // reviews are only created
    const get = await raw(c, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(get.status, 405);
  });
});
