// Adding a machine as upstream's kubeadm does: `petset token create --print-join-command` on
// the cluster, that command run elsewhere (`petset join`): the CA is found by its pinned
// hash, the agent authenticates with the bootstrap token (system:bootstrap:<id>), posts a
// CertificateSigningRequest that the controller manager approves and signs, and runs pods
// with its own client certificate (system:node:<name>), confined by the Node authorizer.
// Also `kubectl certificate approve` of a person's CSR, and a wrong pin or token refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { startCluster, tempDir, eventually, randomLoopbackPodRange, petsetBin, type Cluster } from './harness.js';
import { Processes, type Proc } from './processes.js';
import { createCertificateRequest } from '../../src/cli/pki.js';

const procs = new Processes();
const dirs: string[] = [];
let cluster: Cluster;
let podCidr: string;

before(async () => {
  podCidr = randomLoopbackPodRange(2);
  cluster = await startCluster({ extraArgs: ['--pod-cidr', podCidr] });
});
after(async () => {
  await procs.stopAll();
  await cluster?.stop();
  for (const d of [...dirs, cluster?.dataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const json = async (...args: string[]) => JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout);
const exited = (p: Proc) => new Promise<number | null>((r) => (p.child.exitCode !== null ? r(p.child.exitCode) : p.child.once('exit', (c) => r(c))));

/** A kubeconfig of one user's own: the admin's cluster, this user's credential and nothing else. */
function kubeconfigOf(dir: string, name: string, user: Record<string, string>): string {
  const admin = yaml.load(fs.readFileSync(cluster.kubeconfig, 'utf8')) as any;
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(file, yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: admin.clusters,
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: admin.clusters[0].name, user: name } }],
    'current-context': name,
  }));
  return file;
}

describe('petset join: a machine joins with a bootstrap token', () => {
  it('token create prints the join command; the joined agent gets its own certificate and runs a pod', async () => {
    const printed = execFileSync(process.execPath, [petsetBin, 'token', 'create', '--print-join-command', '--kubeconfig', cluster.kubeconfig], { encoding: 'utf8' }).trim();
    const m = /^petset join (https:\/\/\S+) --token ([a-z0-9]{6})\.([a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})$/.exec(printed);
    assert.ok(m, `the join command: ${printed}`);
    const [, server, tokenId, , pin] = m;
    const secret = await json('get', 'secret', `bootstrap-token-${tokenId}`, '-n', 'kube-system');
    assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
    assert.equal(Buffer.from(secret.data['auth-extra-groups'], 'base64').toString(), 'system:bootstrappers:kubeadm:default-node-token');

    // a wrong pin: refused before the token is sent anywhere
    const elsewhere = tempDir('petset-join-');
    dirs.push(elsewhere);
    const badPin = procs.run(['join', server, '--token', `${tokenId}.0000000000000000`, '--discovery-token-ca-cert-hash', `sha256:${'0'.repeat(64)}`, '--node-name', 'machine-x', '--data-dir', elsewhere]);
    assert.notEqual(await exited(badPin), 0);
    assert.match(badPin.output(), /none of the certificates .* has the public key hash sha256:0{64}/);
    // the right pin but a wrong secret: the API server answers 401
    const badToken = procs.run(['join', server, '--token', `${tokenId}.0000000000000000`, '--discovery-token-ca-cert-hash', pin, '--node-name', 'machine-x', '--data-dir', elsewhere]);
    assert.notEqual(await exited(badToken), 0);
    assert.match(badToken.output(), /Unauthorized/);

    const args = printed.split(' ').slice(1);
    const agent = procs.run([...args, '--node-name', 'machine-2', '--data-dir', elsewhere, '--pod-cidr', podCidr]);
    await eventually(async () => (await json('get', 'node', 'machine-2').catch(() => undefined))?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'), 60_000, `machine-2 Ready:\n${agent.output()}`);

    // the request, as kubectl shows it: from the bootstrap token's user, approved by the controller manager, issued
    const csrs = (await json('get', 'csr')).items as any[];
    const csr = csrs.find((c) => c.spec.username === `system:bootstrap:${tokenId}`);
    assert.ok(csr, `a CSR from system:bootstrap:${tokenId}: ${JSON.stringify(csrs.map((c) => c.spec.username))}`);
    assert.equal(csr.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
    assert.ok(csr.spec.groups.includes('system:bootstrappers') && csr.spec.groups.includes('system:bootstrappers:kubeadm:default-node-token'));
    assert.deepEqual(
      csr.status.conditions.map((c: any) => [c.type, c.status, c.reason]),
      [['Approved', 'True', 'AutoApproved']],
    );
    const table = (await cluster.kubectl(['get', 'csr', csr.metadata.name])).stdout;
    assert.match(table, /NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION/);
    assert.match(table, new RegExp(`kubernetes.io/kube-apiserver-client-kubelet\\s+system:bootstrap:${tokenId}\\s+<none>\\s+Approved,Issued`));

    // the agent's own credential: CN system:node:machine-2, O system:nodes, signed by the cluster CA
    const nodeKubeconfig = path.join(elsewhere, 'nodes', 'machine-2', 'kubeconfig');
    const cfg = yaml.load(fs.readFileSync(nodeKubeconfig, 'utf8')) as any;
    const cert = new X509Certificate(Buffer.from(cfg.users[0].user['client-certificate-data'], 'base64'));
    assert.equal(cert.subject.split('\n').sort().join(','), 'CN=system:node:machine-2,O=system:nodes');
    assert.ok(cert.verify(new X509Certificate(fs.readFileSync(path.join(cluster.dataDir, 'pki', 'ca.crt'))).publicKey));
    assert.equal(cfg.users[0].user.token, undefined, 'no bootstrap token kept in the node kubeconfig');
    const asNode = (a: string[]) => cluster.kubectl(['--kubeconfig', nodeKubeconfig, ...a], { allowFail: true });
    const whoami = JSON.parse((await asNode(['auth', 'whoami', '-o', 'json'])).stdout);
    assert.equal(whoami.status.userInfo.username, 'system:node:machine-2');
    assert.ok(whoami.status.userInfo.groups.includes('system:nodes'));
    // the Node authorizer: another node's object, and secrets at large, are out of reach
    const forbidden = await asNode(['get', 'secrets', '-A']);
    assert.notEqual(forbidden.code, 0);
    assert.match(forbidden.stderr, /Forbidden.*system:node:machine-2/);

    // the node renews its certificate with its own credential: approved as selfnodeclient
    const renewal = createCertificateRequest({ commonName: 'system:node:machine-2', organizations: ['system:nodes'] });
    const created = await cluster.kubectl(['--kubeconfig', nodeKubeconfig, 'create', '-f', '-', '-o', 'jsonpath={.metadata.name}'], {
      input: JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { generateName: 'node-csr-' },
        spec: { request: Buffer.from(renewal.csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] },
      }),
    });
    const renewed = await eventually(async () => {
      const c = await json('get', 'csr', created.stdout);
      return c.status?.certificate && c;
    }, 30_000, 'the renewal issued');
    assert.equal(renewed.spec.username, 'system:node:machine-2');
    assert.deepEqual(renewed.status.conditions.map((c: any) => c.reason), ['AutoApproved']);

    // a pod placed on the joined machine runs there
    await cluster.kubectl(['run', 'on-two', '--image=nginx', '--overrides', JSON.stringify({ spec: { nodeSelector: { 'kubernetes.io/hostname': 'machine-2' } } })]);
    await eventually(async () => (await json('get', 'pod', 'on-two')).status?.phase === 'Running', 60_000, 'pod on machine-2 Running');
    assert.equal((await json('get', 'pod', 'on-two')).spec.nodeName, 'machine-2');

    // a restarted agent keeps its certificate: no second request
    await procs.kill(agent, 'SIGTERM');
    const again = procs.run([...args, '--node-name', 'machine-2', '--data-dir', elsewhere, '--pod-cidr', podCidr]);
    await eventually(() => /registered/.test(again.output()), 30_000, `agent restarted:\n${again.output()}`);
    const after = (await json('get', 'csr')).items.filter((c: any) => c.spec.username === `system:bootstrap:${tokenId}`);
    assert.equal(after.length, 1);
  });

  it('a person\'s CSR waits for kubectl certificate approve, then its certificate authenticates', async () => {
    const { csrPem, keyPem } = createCertificateRequest({ commonName: 'alice', organizations: ['devs'] });
    // openssl agrees that the request is well-formed and self-signed
    const dir = tempDir('petset-csr-');
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'alice.csr'), csrPem);
    assert.match(execFileSync('openssl', ['req', '-in', path.join(dir, 'alice.csr'), '-noout', '-verify', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), /subject=O\s*=\s*devs, CN\s*=\s*alice/);
    const manifest = {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'alice' },
      spec: { request: Buffer.from(csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], expirationSeconds: 3600, username: 'mallory' },
    };
    await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    const created = await json('get', 'csr', 'alice');
    assert.equal(created.spec.username, 'petset-admin', 'who asked comes from the request, not the body');
    assert.match((await cluster.kubectl(['get', 'csr', 'alice'])).stdout, /alice\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+petset-admin\s+60m\s+Pending/);

    const bad = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ ...manifest, metadata: { name: 'bad' }, spec: { ...manifest.spec, request: Buffer.from('hello').toString('base64'), usages: ['client auth', 'flying'] } }), allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.request: Invalid value: .*PEM block type must be CERTIFICATE REQUEST/);
    assert.match(bad.stderr, /spec.usages\[1\]: Unsupported value: "flying"/);

    assert.match((await cluster.kubectl(['certificate', 'approve', 'alice'])).stdout, /certificatesigningrequest.certificates.k8s.io\/alice approved/);
    const issued = await eventually(async () => {
      const c = await json('get', 'csr', 'alice');
      return c.status?.certificate && c;
    }, 30_000, 'alice issued');
    assert.deepEqual(issued.status.conditions.map((c: any) => c.type), ['Approved']);
    const certPem = Buffer.from(issued.status.certificate, 'base64').toString();
    const cert = new X509Certificate(certPem);
    assert.ok(Date.parse(cert.validTo) - Date.now() <= 3600_000 + 60_000, 'the lifetime asked for');
    fs.writeFileSync(path.join(dir, 'alice.crt'), certPem);
    fs.writeFileSync(path.join(dir, 'alice.key'), keyPem);
    // a kubeconfig of alice's own: the cluster of the admin's, her certificate and nothing else
    const aliceConfig = kubeconfigOf(dir, 'alice', { 'client-certificate': path.join(dir, 'alice.crt'), 'client-key': path.join(dir, 'alice.key') });
    const who = await cluster.kubectl(['--kubeconfig', aliceConfig, 'auth', 'whoami', '-o', 'json'], { allowFail: true });
    const info = JSON.parse(who.stdout || '{}').status?.userInfo;
    assert.equal(info?.username, 'alice', who.stderr);
    assert.ok(info.groups.includes('devs'));

    // approval conditions change only through approval: a status write cannot deny it
    const denyByStatus = { ...issued, status: { ...issued.status, conditions: [{ type: 'Denied', status: 'True', reason: 'X' }] } };
    const viaStatus = await cluster.kubectl(['replace', '--subresource', 'status', '-f', '-'], { input: JSON.stringify(denyByStatus), allowFail: true });
    const stored = await json('get', 'csr', 'alice');
    assert.deepEqual(stored.status.conditions.map((c: any) => c.type), ['Approved'], viaStatus.stderr);
    assert.equal(stored.status.certificate, issued.status.certificate);

    // nobody gets a system:masters certificate from the kube-apiserver-client signer
    const masters = createCertificateRequest({ commonName: 'eve', organizations: ['system:masters'] });
    const toMasters = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify({ ...manifest, metadata: { name: 'eve' }, spec: { ...manifest.spec, request: Buffer.from(masters.csrPem).toString('base64') } }), allowFail: true });
    assert.notEqual(toMasters.code, 0);
    assert.match(toMasters.stderr, /certificatesigningrequests.certificates.k8s.io "eve" is forbidden: use of kubernetes.io\/kube-apiserver-client signer with system:masters group is not allowed/);
  });

  it('who asked (username, uid, groups, extra) is the requester\'s, and approving needs the approve verb on the signer', async () => {
    // a ServiceAccount that may create CSRs and write their approval, but holds no signer yet
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'csr-clerk', namespace: 'default' } },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: 'csr-clerk' },
            rules: [
              { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create', 'get', 'list'] },
              { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/approval', 'certificatesigningrequests/status'], verbs: ['update'] },
            ],
          },
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'csr-clerk' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'csr-clerk' }, subjects: [{ kind: 'ServiceAccount', name: 'csr-clerk', namespace: 'default' }] },
        ],
      }),
    });
    const token = (await cluster.kubectl(['create', 'token', 'csr-clerk'])).stdout.trim();
    const dir = tempDir('petset-csr-sa-');
    dirs.push(dir);
    const clerkConfig = kubeconfigOf(dir, 'clerk', { token });
    const asClerk = (a: string[], input?: string) => cluster.kubectl(['--kubeconfig', clerkConfig, ...a], { allowFail: true, input });
    const { csrPem } = createCertificateRequest({ commonName: 'widget-1' });
    // the body claims to be someone else: the server keeps none of it
    const made = await asClerk(['create', '-f', '-'], JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'widget-1' },
      spec: { request: Buffer.from(csrPem).toString('base64'), signerName: 'example.com/widgets', usages: ['client auth'], username: 'mallory', uid: '0', groups: ['system:masters'], extra: { forged: ['yes'] } },
    }));
    assert.equal(made.code, 0, made.stderr);
    const sa = await json('get', 'serviceaccount', 'csr-clerk');
    const csr = await json('get', 'csr', 'widget-1');
    assert.equal(csr.spec.username, 'system:serviceaccount:default:csr-clerk');
    assert.equal(csr.spec.uid, sa.metadata.uid);
    assert.deepEqual(csr.spec.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(Object.keys(csr.spec.extra), ['authentication.kubernetes.io/credential-id']);
    assert.match(csr.spec.extra['authentication.kubernetes.io/credential-id'][0], /^JTI=[0-9a-f-]{36}$/);
    assert.match((await cluster.kubectl(['get', 'csr', 'widget-1'])).stdout, /widget-1\s+\S+\s+example.com\/widgets\s+system:serviceaccount:default:csr-clerk\s+<none>\s+Pending/);

    // approving and denying both need approve on signers/example.com/widgets (or example.com/*)
    for (const verb of ['approve', 'deny']) {
      const refused = await asClerk(['certificate', verb, 'widget-1']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /certificatesigningrequests.certificates.k8s.io "widget-1" is forbidden: user not permitted to approve requests with signerName "example.com\/widgets"/);
    }
    assert.match((await cluster.kubectl(['get', 'csr', 'widget-1'])).stdout, /Pending/);
    // signers are no served resource, so the rule is written out (kubectl create clusterrole would look the resource up)
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'widget-approver' }, rules: [{ apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: ['example.com/*'], verbs: ['approve'] }] }),
    });
    await cluster.kubectl(['create', 'clusterrolebinding', 'widget-approver', '--clusterrole=widget-approver', '--serviceaccount=default:csr-clerk']);
    const approved = await eventually(async () => {
      const r = await asClerk(['certificate', 'approve', 'widget-1']);
      return r.code === 0 && r;
    }, 15_000, 'approve once granted');
    assert.match(approved.stdout, /certificatesigningrequest.certificates.k8s.io\/widget-1 approved/);
    // no petset signer serves example.com/widgets: approved, and no certificate
    assert.match((await cluster.kubectl(['get', 'csr', 'widget-1'])).stdout, /example.com\/widgets\s+system:serviceaccount:default:csr-clerk\s+<none>\s+Approved\s*$/m);
    // what the approval check asks: approve on the signer's name, then on <domain>/* (a literal
    // resourceName in RBAC, not a pattern), with the requester's extra
    const review = async (name: string) =>
      JSON.parse((await cluster.kubectl(['create', '-f', '-', '-o', 'json'], {
        input: JSON.stringify({
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: csr.spec.username, uid: csr.spec.uid, groups: csr.spec.groups, extra: csr.spec.extra, resourceAttributes: { group: 'certificates.k8s.io', resource: 'signers', verb: 'approve', name } },
        }),
      })).stdout);
    const exact = await review('example.com/widgets');
    assert.equal(exact.status.allowed, false);
    assert.deepEqual(exact.spec.extra, csr.spec.extra);
    assert.equal((await review('example.com/*')).status.allowed, true);

    // issuing a certificate (a status write) needs sign on the signer, which the clerk does not hold
    const approvedWidget = await json('get', 'csr', 'widget-1');
    const fakeCert = (await json('get', 'csr', 'alice')).status.certificate;
    const signed = await asClerk(['replace', '--subresource', 'status', '-f', '-'], JSON.stringify({ ...approvedWidget, status: { ...approvedWidget.status, certificate: fakeCert } }));
    assert.notEqual(signed.code, 0);
    assert.match(signed.stderr, /certificatesigningrequests.certificates.k8s.io "widget-1" is forbidden: user not permitted to sign requests with signerName "example.com\/widgets"/);
    assert.equal((await json('get', 'csr', 'widget-1')).status.certificate, undefined);
  });
});
