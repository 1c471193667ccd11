// The real kubectl against `petset up`, over HTTPS with the kubeconfig `up` wrote.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { DB_MANIFEST, eventually, startCluster, tempDir, type Cluster } from './harness.js';

describe('kubectl against petset up', () => {
  let c: Cluster;
  let dir: string;

  before(async () => {
    c = await startCluster();
    dir = tempDir('manifests-');
    fs.writeFileSync(path.join(dir, 'db.yaml'), DB_MANIFEST);
  });
  after(async () => {
    await c?.stop();
  });

  it('answers /readyz and rejects requests without credentials', async () => {
    const r = await c.kubectl(['get', '--raw', '/readyz']);
    assert.equal(r.stdout.trim(), 'ok');
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(`${c.url}/api/v1/namespaces`, { rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .on('error', reject);
    });
    assert.equal(status, 401);
  });

  it('has the system namespaces', async () => {
    const r = await c.kubectl(['get', 'namespaces', '-o', 'name']);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(r.stdout, new RegExp(`namespace/${ns}\\n`));
  });

  it('applies the StorageClass, headless Service and StatefulSet manifest, then re-applies an edit', async () => {
    const first = await c.kubectl(['apply', '-f', path.join(dir, 'db.yaml')]);
    assert.match(first.stdout, /storageclass.storage.k8s.io\/google-storage created/);
    assert.match(first.stdout, /service\/mysql created/);
    assert.match(first.stdout, /statefulset.apps\/db created/);

    const again = await c.kubectl(['apply', '-f', path.join(dir, 'db.yaml')]);
    assert.match(again.stdout, /service\/mysql unchanged/);
    // volumeClaimTemplates is an atomic list and the server adds defaults to it, so kubectl
    // re-sends it and reports "configured", as it does against a real cluster
    assert.match(again.stdout, /statefulset.apps\/db (unchanged|configured)/);
    assert.equal(JSON.parse((await c.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout).metadata.generation, 1);

    fs.writeFileSync(path.join(dir, 'db2.yaml'), DB_MANIFEST.replace('image: mysql', 'image: mysql:8.4').replace('replicas: 3', 'replicas: 2'));
    const edited = await c.kubectl(['apply', '-f', path.join(dir, 'db2.yaml')]);
    assert.match(edited.stdout, /statefulset.apps\/db configured/);
    const sts = JSON.parse((await c.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout);
    assert.equal(sts.spec.replicas, 2);
    assert.equal(sts.spec.template.spec.containers[0].image, 'mysql:8.4');
    assert.equal(sts.spec.template.spec.containers.length, 1);
    assert.equal(sts.metadata.generation, 2);
    // upstream defaults are visible
    assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
    assert.equal(sts.spec.updateStrategy.rollingUpdate.partition, 0);
    assert.equal(sts.spec.revisionHistoryLimit, 10);
  });

  it('prints tables with upstream columns, YAML, and describe', async () => {
    const t = await c.kubectl(['get', 'sts']);
    assert.match(t.stdout, /^NAME\s+READY\s+AGE\n/);
    assert.match(t.stdout, /\ndb\s+\d+\/2\s+\d+s\n/);
    const wide = await c.kubectl(['get', 'sts', '-o', 'wide']);
    assert.match(wide.stdout, /CONTAINERS\s+IMAGES/);
    assert.match(wide.stdout, /mysql\s+mysql:8.4/);
    const svc = await c.kubectl(['get', 'svc', 'mysql']);
    assert.match(svc.stdout, /NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    assert.match(svc.stdout, /mysql\s+ClusterIP\s+None\s+<none>\s+3306\/TCP/);
    const y = await c.kubectl(['get', 'sts', 'db', '-o', 'yaml']);
    assert.match(y.stdout, /kind: StatefulSet/);
    assert.match(y.stdout, /serviceName: mysql/);
    const d = await c.kubectl(['describe', 'sts', 'db']);
    assert.match(d.stdout, /Name:\s+db/);
    assert.match(d.stdout, /Selector:\s+app=mysql/);
    assert.match(d.stdout, /Replicas:\s+2 desired/);
  });

  it('explains fields from the served OpenAPI', async () => {
    const r = await c.kubectl(['explain', 'statefulset.spec.updateStrategy']);
    assert.match(r.stdout, /KIND:\s+StatefulSet/);
    assert.match(r.stdout, /FIELD:\s+updateStrategy/);
    assert.match(r.stdout, /rollingUpdate/);
    assert.match(r.stdout, /type/);
  });

  it('lists API resources', async () => {
    const r = await c.kubectl(['api-resources']);
    assert.match(r.stdout, /statefulsets\s+sts\s+apps\/v1\s+true\s+StatefulSet/);
    assert.match(r.stdout, /persistentvolumeclaims\s+pvc\s+v1\s+true\s+PersistentVolumeClaim/);
    assert.match(r.stdout, /storageclasses\s+sc\s+storage.k8s.io\/v1\s+false\s+StorageClass/);
  });

  it('applies a kind: List of ConfigMaps with validation on', async () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: one
  data:
    a: "1"
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: two
  data:
    b: "2"
`;
    fs.writeFileSync(path.join(dir, 'list.yaml'), list);
    const r = await c.kubectl(['apply', '-f', path.join(dir, 'list.yaml')]);
    assert.match(r.stdout, /configmap\/one created/);
    assert.match(r.stdout, /configmap\/two created/);
  });

  it('patches with strategic merge, JSON merge and JSON patch', async () => {
    await c.kubectl(['patch', 'cm', 'one', '-p', '{"data":{"c":"3"}}']);
    await c.kubectl(['patch', 'cm', 'one', '--type', 'merge', '-p', '{"data":{"a":null}}']);
    await c.kubectl(['patch', 'cm', 'one', '--type', 'json', '-p', '[{"op":"add","path":"/data/d","value":"4"}]']);
    const cm = JSON.parse((await c.kubectl(['get', 'cm', 'one', '-o', 'json'])).stdout);
    assert.deepEqual(cm.data, { c: '3', d: '4' });
    const bad = await c.kubectl(['patch', 'cm', 'one', '--type', 'json', '-p', '[{"op":"test","path":"/data/c","value":"9"}]'], { allowFail: true });
    assert.notEqual(bad.code, 0);
  });

  it('labels and annotates', async () => {
    await c.kubectl(['label', 'sts', 'db', 'tier=database']);
    await c.kubectl(['annotate', 'sts', 'db', 'owner=team-a']);
    const sts = JSON.parse((await c.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout);
    assert.equal(sts.metadata.labels.tier, 'database');
    assert.equal(sts.metadata.annotations.owner, 'team-a');
    const shown = await c.kubectl(['get', 'sts', '-l', 'tier=database', '--show-labels']);
    assert.match(shown.stdout, /tier=database/);
  });

  it('scales through the scale subresource', async () => {
    const r = await c.kubectl(['scale', 'sts', 'db', '--replicas=5']);
    assert.match(r.stdout, /statefulset.apps\/db scaled/);
    const sts = JSON.parse((await c.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout);
    assert.equal(sts.spec.replicas, 5);
  });

  it('edits with a scripted editor', async () => {
    const editor = path.join(dir, 'editor.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/owner: team-a/owner: team-b/" "$1"\n', { mode: 0o755 });
    const r = await c.kubectl(['edit', 'sts', 'db'], { env: { KUBE_EDITOR: editor, EDITOR: editor } });
    assert.match(r.stdout, /statefulset.apps\/db edited/);
    const sts = JSON.parse((await c.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout);
    assert.equal(sts.metadata.annotations.owner, 'team-b');
  });

  it('replaces, and refuses a stale resourceVersion', async () => {
    const cm = JSON.parse((await c.kubectl(['get', 'cm', 'two', '-o', 'json'])).stdout);
    cm.data.b = 'replaced';
    fs.writeFileSync(path.join(dir, 'two.json'), JSON.stringify(cm));
    const r = await c.kubectl(['replace', '-f', path.join(dir, 'two.json')]);
    assert.match(r.stdout, /configmap\/two replaced/);
    const stale = await c.kubectl(['replace', '-f', path.join(dir, 'two.json')], { allowFail: true });
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /the object has been modified; please apply your changes to the latest version and try again/);
  });

  it('streams changes with get -w', async () => {
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'cm', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await eventually(() => out.includes('two'), 10_000, 'initial rows');
      await c.kubectl(['create', 'configmap', 'watched', '--from-literal=x=1']);
      await eventually(() => out.includes('watched'), 10_000, 'the new ConfigMap in the watch');
      assert.equal(child.exitCode, null, 'get -w stays open');
    } finally {
      child.kill();
    }
  });

  it('prints the field error for a StatefulSet whose selector does not match its labels', async () => {
    const bad = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: broken
spec:
  serviceName: x
  selector:
    matchLabels:
      app: one
  template:
    metadata:
      labels:
        app: two
    spec:
      containers:
      - name: c
        image: busybox
`;
    fs.writeFileSync(path.join(dir, 'bad.yaml'), bad);
    const r = await c.kubectl(['create', '-f', path.join(dir, 'bad.yaml')], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The StatefulSet "broken" is invalid: spec.template.metadata.labels: Invalid value: .*`selector` does not match template `labels`/);
  });

  it('deletes, waiting until the object is gone', async () => {
    const r = await c.kubectl(['delete', 'cm', 'one']);
    assert.match(r.stdout, /configmap "one" deleted/);
    const gone = await c.kubectl(['get', 'cm', 'one'], { allowFail: true });
    assert.match(gone.stderr, /configmaps "one" not found/);
  });
});
