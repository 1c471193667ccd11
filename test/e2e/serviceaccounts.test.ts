// ServiceAccounts with real tokens against `petset up`: the default account of every
// namespace, kube-root-ca.crt, `kubectl create token` (bound, expiring ES256 JWTs), TokenReview,
// OIDC discovery, the projected token volume admission, and — on real pods, under the process
// runtime — a program in a pod using in-cluster config: allowed to list pods by its Role,
// refused (403, upstream text) when it deletes one.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

describe('ServiceAccount tokens with the real kubectl', () => {
  let c: Cluster;
  // kubectl --token beside the admin kubeconfig would still present its client certificate,
  // which the server takes first (as upstream's): a kubeconfig of the server alone
  let bare: string;
  const asToken = (token: string) => ['--kubeconfig', bare, '--token', token];
  before(async () => {
    c = await startCluster();
    const config: any = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8'));
    config.users[0].user = {};
    bare = path.join(c.dataDir, 'server-only.kubeconfig');
    fs.writeFileSync(bare, yaml.dump(config), { mode: 0o600 });
  });
  after(async () => {
    await c?.stop();
  });

  it('every namespace gets the default ServiceAccount and kube-root-ca.crt', async () => {
    await c.kubectl(['create', 'namespace', 'team-a']);
    await eventually(async () => (await c.kubectl(['-n', 'team-a', 'get', 'sa', 'default'], { allowFail: true })).code === 0, 10_000, 'default SA');
    const ca = await eventually(async () => {
      const r = await c.kubectl(['-n', 'team-a', 'get', 'cm', 'kube-root-ca.crt', '-o', 'json'], { allowFail: true });
      return r.code === 0 && JSON.parse(r.stdout);
    });
    assert.equal(ca.data['ca.crt'], fs.readFileSync(`${c.dataDir}/pki/ca.crt`, 'utf8'));
    // deleted, it comes back
    await c.kubectl(['-n', 'team-a', 'delete', 'sa', 'default']);
    await eventually(async () => (await c.kubectl(['-n', 'team-a', 'get', 'sa', 'default'], { allowFail: true })).code === 0, 10_000, 'default SA again');
  });

  it('kubectl create token issues a bound, expiring JWT the API server accepts until the account goes', async () => {
    await c.kubectl(['create', 'sa', 'bot']);
    const token = (await c.kubectl(['create', 'token', 'bot', '--duration', '15m'])).stdout.trim();
    const claims = claimsOf(token);
    assert.equal(claims.sub, 'system:serviceaccount:default:bot');
    assert.deepEqual(claims.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(claims.exp - claims.iat, 900);
    assert.equal(claims['kubernetes.io'].namespace, 'default');
    // the signature checks out with the key OIDC discovery publishes
    const jwks = JSON.parse((await c.kubectl(['get', '--raw', '/openid/v1/jwks'])).stdout);
    const discovery = JSON.parse((await c.kubectl(['get', '--raw', '/.well-known/openid-configuration'])).stdout);
    assert.equal(discovery.issuer, claims.iss);
    const [h, p, sig] = token.split('.');
    const key = createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url')));

    const who = await c.kubectl([...asToken(token), 'auth', 'whoami']);
    assert.match(who.stdout, /Username\s+system:serviceaccount:default:bot/);
    assert.match(who.stdout, /Groups\s+\[system:serviceaccounts system:serviceaccounts:default system:authenticated\]/);
    const denied = await c.kubectl([...asToken(token), 'get', 'secrets'], { allowFail: true });
    assert.match(denied.stderr, /secrets is forbidden: User "system:serviceaccount:default:bot" cannot list resource "secrets" in API group "" in the namespace "default"/);

    // bound to view, it lists pods and can-i --list shows view's rules
    await c.kubectl(['create', 'rolebinding', 'bot-view', '--clusterrole=view', '--serviceaccount=default:bot']);
    await eventually(async () => (await c.kubectl([...asToken(token), 'get', 'pods'], { allowFail: true })).code === 0, 10_000, 'bot lists pods');
    const list = await c.kubectl([...asToken(token), 'auth', 'can-i', '--list']);
    assert.match(list.stdout, /statefulsets\.apps\s+\[\]\s+\[\]\s+\[get list watch\]/);

    // TokenReview
    const review = JSON.parse(
      (await c.kubectl(['create', '--validate=false', '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }) })).stdout,
    );
    assert.equal(review.status.authenticated, true);
    assert.equal(review.status.user.username, 'system:serviceaccount:default:bot');
    const other = JSON.parse(
      (await c.kubectl(['create', '--validate=false', '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['vault'] } }) })).stdout,
    );
    assert.equal(other.status.authenticated, false);

    // too short a life, an unknown account
    assert.match((await c.kubectl(['create', 'token', 'bot', '--duration', '1m'], { allowFail: true })).stderr, /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
    assert.match((await c.kubectl(['create', 'token', 'nobody'], { allowFail: true })).stderr, /serviceaccounts "nobody" not found/);

    // the account deleted, its tokens stop working
    await c.kubectl(['delete', 'sa', 'bot']);
    assert.match((await c.kubectl([...asToken(token), 'get', 'pods'], { allowFail: true })).stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  it('a token bound to a pod names it, and dies with it', async () => {
    await c.kubectl(['create', 'sa', 'runner']);
    await c.kubectl(['run', 'holder', '--image=busybox', '--overrides={"spec":{"serviceAccountName":"runner"}}', '--', 'sleep', '3600']);
    const uid = (await c.kubectl(['get', 'pod', 'holder', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const token = (await c.kubectl(['create', 'token', 'runner', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder'])).stdout.trim();
    assert.deepEqual(claimsOf(token)['kubernetes.io'].pod, { name: 'holder', uid });
    const who = await c.kubectl([...asToken(token), 'auth', 'whoami']);
    assert.match(who.stdout, /authentication\.kubernetes\.io\/pod-name\s+\[holder\]/);
    await c.kubectl(['delete', 'pod', 'holder', '--grace-period=0', '--force']);
    await eventually(async () => /Unauthorized/.test((await c.kubectl([...asToken(token), 'auth', 'whoami'], { allowFail: true })).stderr), 10_000, 'token refused');
  });

  it('pods get the projected token volume unless automountServiceAccountToken is false', async () => {
    await c.kubectl(['run', 'mounted', '--image=busybox', '--', 'sleep', '3600']);
    const pod = JSON.parse((await c.kubectl(['get', 'pod', 'mounted', '-o', 'json'])).stdout);
    assert.equal(pod.spec.serviceAccountName, 'default');
    const vol = pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.match(vol.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(vol.projected.sources, [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ]);
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [{ name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
    await c.kubectl(['run', 'plain', '--image=busybox', '--overrides={"spec":{"automountServiceAccountToken":false}}', '--', 'sleep', '3600']);
    const plain = JSON.parse((await c.kubectl(['get', 'pod', 'plain', '-o', 'json'])).stdout);
    assert.equal(plain.spec.volumes ?? undefined, undefined);
  });
});

const why = processRuntimeUnavailable();
describe('a program in a pod uses in-cluster config', { skip: why }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
  });
  after(async () => {
    await c?.stop();
  });

  it('kubectl in a pod lists pods through its Role and is refused when it deletes one', async () => {
    await c.kubectl(['create', 'sa', 'reader']);
    await c.kubectl(['create', 'role', 'pod-getter', '--verb=get,list', '--resource=pods']);
    await c.kubectl(['create', 'rolebinding', 'reader-gets', '--role=pod-getter', '--serviceaccount=default:reader']);
    await c.kubectl(['run', 'incluster', '--image=busybox', '--overrides={"spec":{"serviceAccountName":"reader"}}', '--', 'sleep', '3600']);
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/incluster', '--timeout=60s'], { timeoutMs: 70_000 });
    const files = await c.kubectl(['exec', 'incluster', '--', 'ls', '/var/run/secrets/kubernetes.io/serviceaccount']);
    assert.deepEqual(files.stdout.trim().split('\n'), ['ca.crt', 'namespace', 'token']);
    const list = await c.kubectl(['exec', 'incluster', '--', 'kubectl', 'get', 'pods', '-o', 'name']);
    assert.equal(list.stdout.trim(), 'pod/incluster');
    const del = await c.kubectl(['exec', 'incluster', '--', 'kubectl', 'delete', 'pod', 'incluster'], { allowFail: true });
    assert.match(del.stderr, /Error from server \(Forbidden\): pods "incluster" is forbidden: User "system:serviceaccount:default:reader" cannot delete resource "pods" in API group "" in the namespace "default"/);
    const who = await c.kubectl(['exec', 'incluster', '--', 'kubectl', 'auth', 'whoami']);
    assert.match(who.stdout, /authentication\.kubernetes\.io\/pod-name\s+\[incluster\]/);
  });
});
