// Storage end to end: the real kubectl against `petset up`, with claims backed by
// directories under <dataDir>/volumes that the test reads and writes directly (the simulated
// runtime runs no process that could).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, repoRoot, startCluster, tempDir, type Cluster } from './harness.js';

const DB_MANIFEST_PATH = path.join(repoRoot, 'examples', 'mysql-statefulset.yaml');

const WEB_MANIFEST = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
    name: http
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  persistentVolumeClaimRetentionPolicy:
    whenScaled: Delete
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 100Mi
`;

async function getJson(c: Cluster, ...args: string[]): Promise<any> {
  return JSON.parse((await c.kubectl(['get', ...args, '-o', 'json'])).stdout);
}

async function exists(c: Cluster, ...args: string[]): Promise<boolean> {
  const r = await c.kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  return r.stdout.trim() !== '';
}

/** The claim's volume and its directory, once the claim is Bound. */
async function boundVolume(c: Cluster, claim: string, ns = 'default'): Promise<{ pv: any; dir: string }> {
  const pvc = await getJson(c, 'pvc', claim, '-n', ns);
  assert.equal(pvc.status.phase, 'Bound', `claim ${claim}`);
  const pv = await getJson(c, 'pv', pvc.spec.volumeName);
  assert.equal(pv.status.phase, 'Bound');
  assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
  const dir: string = pv.spec.hostPath?.path ?? pv.spec.local?.path;
  assert.ok(dir, `volume ${pv.metadata.name} has a path`);
  return { pv, dir };
}

async function waitReady(c: Cluster, set: string, replicas: number): Promise<void> {
  await c.kubectl(['rollout', 'status', `sts/${set}`, '--timeout=30s'], { timeoutMs: 35_000 });
  await eventually(async () => (await getJson(c, 'sts', set)).status.readyReplicas === replicas || undefined, 20_000, `${set} ${replicas} ready`);
}

async function podsOf(c: Cluster, selector: string): Promise<string[]> {
  const pods = await getJson(c, 'pods', '-l', selector);
  return pods.items.map((p: any) => p.metadata.name).sort();
}

async function events(c: Cluster, kind: string, name: string, ns = 'default'): Promise<any[]> {
  const list = await getJson(c, 'events', '-n', ns, '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`);
  return list.items;
}

describe('storage with petset up', () => {
  let c: Cluster;
  let dataDir: string;
  let manifests: string;
  const volumesRoot = () => path.join(fs.realpathSync(dataDir), 'volumes') + path.sep;
  /** data-db-N -> its PV name, as first bound */
  const dbVolumes = new Map<string, string>();

  before(async () => {
    dataDir = tempDir();
    manifests = tempDir('manifests-');
    fs.writeFileSync(path.join(manifests, 'web.yaml'), WEB_MANIFEST);
    c = await startCluster({ dataDir });
  });
  after(async () => {
    await c?.stop();
  });

  it('brings the mysql StatefulSet up with every claim Bound and a directory per claim', async () => {
    const r = await c.kubectl(['apply', '-f', DB_MANIFEST_PATH]);
    assert.match(r.stdout, /storageclass.storage.k8s.io\/google-storage created/);
    assert.match(r.stdout, /statefulset.apps\/db created/);
    await waitReady(c, 'db', 3);

    const dirs = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const claim = `data-db-${i}`;
      const pvc = await getJson(c, 'pvc', claim);
      assert.equal(pvc.spec.storageClassName, 'google-storage');
      assert.deepEqual(pvc.metadata.labels, { app: 'mysql' });
      const { pv, dir } = await boundVolume(c, claim);
      assert.equal(pv.spec.storageClassName, 'google-storage');
      assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
      assert.equal(pv.spec.capacity.storage, '1Gi');
      assert.ok(fs.realpathSync(dir).startsWith(volumesRoot()), `${dir} is under the data directory`);
      assert.ok(fs.statSync(dir).isDirectory());
      dirs.add(dir);
      dbVolumes.set(claim, pv.metadata.name);
      // the pod mounts its own claim
      const pod = await getJson(c, 'pod', `db-${i}`);
      assert.deepEqual(
        pod.spec.volumes.find((v: any) => v.name === 'data'),
        { name: 'data', persistentVolumeClaim: { claimName: claim } },
      );
    }
    assert.equal(dirs.size, 3, 'one directory per claim');

    const table = await c.kubectl(['get', 'pvc']);
    assert.match(table.stdout, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\n/);
    for (let i = 0; i < 3; i++) assert.match(table.stdout, new RegExp(`\\ndata-db-${i}\\s+Bound\\s+pvc-[0-9a-f-]+\\s+1Gi\\s+RWO\\s+google-storage\\s`));
  });

  it('scales 3 -> 1 -> 3 and reuses data-db-1 and data-db-2 with their files intact', async () => {
    for (const i of [1, 2]) fs.writeFileSync(path.join((await boundVolume(c, `data-db-${i}`)).dir, 'rows.txt'), `written by db-${i}\n`);

    await c.kubectl(['scale', 'sts', 'db', '--replicas=1']);
    await c.kubectl(['wait', '--for=delete', 'pod/db-1', 'pod/db-2', '--timeout=30s'], { timeoutMs: 35_000 });
    assert.deepEqual(await podsOf(c, 'app=mysql'), ['db-0']);
    for (const i of [1, 2]) {
      const { pv, dir } = await boundVolume(c, `data-db-${i}`);
      assert.equal(pv.metadata.name, dbVolumes.get(`data-db-${i}`));
      assert.equal(fs.readFileSync(path.join(dir, 'rows.txt'), 'utf8'), `written by db-${i}\n`);
    }

    await c.kubectl(['scale', 'sts', 'db', '--replicas=3']);
    await waitReady(c, 'db', 3);
    assert.deepEqual(await podsOf(c, 'app=mysql'), ['db-0', 'db-1', 'db-2']);
    const claims = await getJson(c, 'pvc', '-l', 'app=mysql');
    assert.deepEqual(claims.items.map((p: any) => p.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
    for (const i of [1, 2]) {
      const pod = await getJson(c, 'pod', `db-${i}`);
      assert.equal(pod.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName, `data-db-${i}`);
      const { pv, dir } = await boundVolume(c, `data-db-${i}`);
      assert.equal(pv.metadata.name, dbVolumes.get(`data-db-${i}`), 'the same volume, not a new one');
      assert.equal(fs.readFileSync(path.join(dir, 'rows.txt'), 'utf8'), `written by db-${i}\n`);
    }
  });

  it("keeps a file in a claim's directory across the pod's deletion, a control-plane restart and the pod's recreation", async () => {
    const { dir } = await boundVolume(c, 'data-db-0');
    fs.writeFileSync(path.join(dir, 'ibdata1'), 'precious\n');
    const before = await getJson(c, 'pod', 'db-0');

    await c.kubectl(['delete', 'pod', 'db-0']);
    await eventually(async () => {
      const pod = await getJson(c, 'pod', 'db-0').catch(() => undefined);
      return pod && pod.metadata.uid !== before.metadata.uid && pod.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
    }, 20_000, 'db-0 recreated and Ready');
    assert.equal(fs.readFileSync(path.join(dir, 'ibdata1'), 'utf8'), 'precious\n');

    assert.equal(await c.stop(), 0);
    c = await startCluster({ dataDir });
    await waitReady(c, 'db', 3);
    assert.equal(fs.readFileSync(path.join(dir, 'ibdata1'), 'utf8'), 'precious\n');

    const afterRestart = await getJson(c, 'pod', 'db-0');
    await c.kubectl(['delete', 'pod', 'db-0']);
    await eventually(async () => {
      const pod = await getJson(c, 'pod', 'db-0').catch(() => undefined);
      return pod && pod.metadata.uid !== afterRestart.metadata.uid && pod.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
    }, 20_000, 'db-0 recreated after the restart');
    const pod = await getJson(c, 'pod', 'db-0');
    assert.equal(pod.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName, 'data-db-0');
    const again = await boundVolume(c, 'data-db-0');
    assert.equal(again.pv.metadata.name, dbVolumes.get('data-db-0'));
    assert.equal(again.dir, dir);
    assert.equal(fs.readFileSync(path.join(dir, 'ibdata1'), 'utf8'), 'precious\n');
  });

  it('keeps the claims, volumes and directories when the set is deleted', async () => {
    const dirs = await Promise.all([0, 1, 2].map(async (i) => (await boundVolume(c, `data-db-${i}`)).dir));
    const r = await c.kubectl(['delete', 'sts', 'db']);
    assert.match(r.stdout, /statefulset.apps "db" deleted/);
    await eventually(async () => (await podsOf(c, 'app=mysql')).length === 0, 20_000, 'db pods gone');
    for (let i = 0; i < 3; i++) {
      const { pv } = await boundVolume(c, `data-db-${i}`);
      assert.equal(pv.metadata.name, dbVolumes.get(`data-db-${i}`));
      const pvc = await getJson(c, 'pvc', `data-db-${i}`);
      assert.equal(pvc.metadata.ownerReferences, undefined, 'the default retention policy adds no owner');
      assert.ok(fs.statSync(dirs[i]).isDirectory());
    }
    assert.equal(fs.readFileSync(path.join(dirs[0], 'ibdata1'), 'utf8'), 'precious\n');
  });

  it('removes claims, volumes and directories on scale-down with whenScaled: Delete and reclaimPolicy: Delete', async () => {
    const sc = await getJson(c, 'storageclass', 'standard');
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(sc.reclaimPolicy, 'Delete');

    await c.kubectl(['apply', '-f', path.join(manifests, 'web.yaml')]);
    await waitReady(c, 'web', 3);
    const volumes: Array<{ pv: string; dir: string }> = [];
    for (let i = 0; i < 3; i++) {
      const pvc = await getJson(c, 'pvc', `www-web-${i}`);
      assert.equal(pvc.spec.storageClassName, 'standard', 'the default class was assigned');
      const { pv, dir } = await boundVolume(c, `www-web-${i}`);
      assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
      fs.writeFileSync(path.join(dir, 'index.html'), `web-${i}\n`);
      volumes.push({ pv: pv.metadata.name, dir });
    }

    await c.kubectl(['scale', 'sts', 'web', '--replicas=1']);
    await c.kubectl(['wait', '--for=delete', 'pod/web-1', 'pod/web-2', '--timeout=30s'], { timeoutMs: 35_000 });
    await eventually(async () => !(await exists(c, 'pvc', 'www-web-1')) && !(await exists(c, 'pvc', 'www-web-2')), 20_000, 'scaled-down claims deleted');
    await eventually(async () => !(await exists(c, 'pv', volumes[1].pv)) && !(await exists(c, 'pv', volumes[2].pv)), 20_000, 'their volumes deleted');
    await eventually(() => !fs.existsSync(volumes[1].dir) && !fs.existsSync(volumes[2].dir), 10_000, 'their directories removed');

    // the remaining replica keeps its claim, volume and data
    const { pv, dir } = await boundVolume(c, 'www-web-0');
    assert.equal(pv.metadata.name, volumes[0].pv);
    assert.equal(fs.readFileSync(path.join(dir, 'index.html'), 'utf8'), 'web-0\n');

    // scaling back up makes fresh, empty claims
    await c.kubectl(['scale', 'sts', 'web', '--replicas=3']);
    await waitReady(c, 'web', 3);
    for (const i of [1, 2]) {
      const fresh = await boundVolume(c, `www-web-${i}`);
      assert.notEqual(fresh.pv.metadata.name, volumes[i].pv);
      assert.deepEqual(fs.readdirSync(fresh.dir), []);
    }
  });

  it('keeps a claim for a class that does not exist Pending, with an event', async () => {
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: orphan
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: no-such-class
  resources:
    requests:
      storage: 1Gi
`,
    });
    const event = await eventually(
      async () => (await events(c, 'PersistentVolumeClaim', 'orphan')).find((e) => e.reason === 'ProvisioningFailed'),
      15_000,
      'a ProvisioningFailed event',
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.message, 'storageclass.storage.k8s.io "no-such-class" not found');
    assert.equal(event.source.component, 'persistentvolume-controller');
    const pvc = await getJson(c, 'pvc', 'orphan');
    assert.equal(pvc.status.phase, 'Pending');
    assert.equal(pvc.spec.volumeName, undefined);
    const described = await c.kubectl(['describe', 'pvc', 'orphan']);
    assert.match(described.stdout, /Status:\s+Pending/);
    assert.match(described.stdout, /Warning\s+ProvisioningFailed\s+.*persistentvolume-controller\s+storageclass.storage.k8s.io "no-such-class" not found/);
  });

  it('refuses to shrink a claim, and grows one whose class allows expansion', async () => {
    const shrink = await c.kubectl(['patch', 'pvc', 'data-db-0', '-p', '{"spec":{"resources":{"requests":{"storage":"500Mi"}}}}'], { allowFail: true });
    assert.notEqual(shrink.code, 0);
    assert.equal(
      shrink.stderr.trim(),
      'The PersistentVolumeClaim "data-db-0" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
    );
    assert.equal((await getJson(c, 'pvc', 'data-db-0')).spec.resources.requests.storage, '1Gi');

    await c.kubectl(['patch', 'pvc', 'data-db-0', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}']);
    await eventually(async () => (await getJson(c, 'pvc', 'data-db-0')).status.capacity?.storage === '2Gi', 15_000, 'the claim grown');
    assert.equal((await getJson(c, 'pv', dbVolumes.get('data-db-0')!)).spec.capacity.storage, '2Gi');
  });

  it('does not bind one volume to two claims', async () => {
    const staticDir = path.join(dataDir, 'volumes', 'static-shared');
    fs.mkdirSync(staticDir, { recursive: true });
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: PersistentVolume
metadata:
  name: shared
spec:
  capacity:
    storage: 1Gi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath:
    path: ${staticDir}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: first
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeName: shared
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: second
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeName: shared
  resources:
    requests:
      storage: 1Gi
`,
    });
    const winner = await eventually(
      async () => {
        const claims = await Promise.all(['first', 'second'].map((n) => getJson(c, 'pvc', n)));
        const bound = claims.filter((p) => p.status.phase === 'Bound');
        return bound.length >= 1 ? bound : undefined;
      },
      15_000,
      'one claim bound',
    );
    assert.equal(winner.length, 1);
    const winnerName: string = winner[0].metadata.name;
    const loserName = winnerName === 'first' ? 'second' : 'first';
    const pv = await getJson(c, 'pv', 'shared');
    assert.equal(pv.status.phase, 'Bound');
    assert.equal(pv.spec.claimRef.name, winnerName);
    assert.equal(pv.spec.claimRef.uid, winner[0].metadata.uid);

    const event = await eventually(
      async () => (await events(c, 'PersistentVolumeClaim', loserName)).find((e) => e.reason === 'FailedBinding'),
      15_000,
      'a FailedBinding event on the other claim',
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.message, 'volume "shared" already bound to a different claim.');
    // and it stays that way
    await new Promise((r) => setTimeout(r, 1000));
    const loser = await getJson(c, 'pvc', loserName);
    assert.equal(loser.status.phase, 'Pending');
    assert.equal((await getJson(c, 'pv', 'shared')).spec.claimRef.name, winnerName);
  });

  it('gives an Available volume that two claims match to only one of them', async () => {
    const staticDir = path.join(dataDir, 'volumes', 'static-spare');
    fs.mkdirSync(staticDir, { recursive: true });
    const claim = (name: string) => `---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual-match
  resources:
    requests:
      storage: 1Gi
`;
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: PersistentVolume
metadata:
  name: spare
spec:
  capacity:
    storage: 1Gi
  accessModes: [ReadWriteOnce]
  storageClassName: manual-match
  hostPath:
    path: ${staticDir}
${claim('racer-a')}${claim('racer-b')}`,
    });
    const pv = await eventually(
      async () => {
        const v = await getJson(c, 'pv', 'spare');
        return v.status.phase === 'Bound' ? v : undefined;
      },
      15_000,
      'the volume bound',
    );
    await new Promise((r) => setTimeout(r, 1000));
    const claims = await Promise.all(['racer-a', 'racer-b'].map((n) => getJson(c, 'pvc', n)));
    const bound = claims.filter((p) => p.status.phase === 'Bound');
    assert.equal(bound.length, 1, 'exactly one claim bound');
    assert.equal(bound[0].spec.volumeName, 'spare');
    assert.equal(pv.spec.claimRef.uid, bound[0].metadata.uid);
    const other = claims.find((p) => p !== bound[0]);
    assert.equal(other.status.phase, 'Pending');
    assert.equal(other.spec.volumeName, undefined);
  });
});
