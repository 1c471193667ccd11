// The double-kill drill (slow suite): kill -9 `petset up` during a Parallel 100-replica
// StatefulSet scale-up with claims, restart it, kill it again moments after the restart,
// restart it once more; every repetition must converge: all replicas Ready, one claim per
// replica and every claim bound, no pod or claim without its set, no two pods with one IP.
//
// PETSET_DRILL_REPETITIONS (default 20), PETSET_DRILL_REPLICAS (default 100) and PETSET_DRILL_NODES
// (default 4) size it; PETSET_DRILL_ARGS adds flags to `petset up`.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import yaml from 'js-yaml';
import { spawn } from 'node:child_process';
import { petsetBin, startCluster, tempDir, type Cluster } from './harness.js';
import { waitFor } from '../support/server.js';

const REPETITIONS = Number(process.env.PETSET_DRILL_REPETITIONS ?? 20);
const REPLICAS = Number(process.env.PETSET_DRILL_REPLICAS ?? 100);
const NODES = Number(process.env.PETSET_DRILL_NODES ?? 4);
const CONVERGE_MS = 120_000;

const live: Cluster[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of live) await c.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Every other repetition the claims wait for their pod's node (WaitForFirstConsumer), as local-path classes do. */
function manifest(replicas: number, waitForFirstConsumer: boolean): string {
  return `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: drill}
provisioner: petset.io/local-path
volumeBindingMode: ${waitForFirstConsumer ? 'WaitForFirstConsumer' : 'Immediate'}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: ${replicas}
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: drill
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;
}

function getJson(c: Cluster, urlPath: string): Promise<any> {
  const kc = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8')) as any;
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
  const token = kc.users[0].user.token as string;
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(urlPath, c.url), { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${urlPath}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
  });
}

/** What keeps the cluster from being converged, or [] when it is. */
export async function problems(c: Cluster, replicas: number): Promise<string[]> {
  const [pods, pvcs, pvs, sts] = await Promise.all([
    getJson(c, '/api/v1/namespaces/default/pods'),
    getJson(c, '/api/v1/namespaces/default/persistentvolumeclaims'),
    getJson(c, '/api/v1/persistentvolumes'),
    getJson(c, '/apis/apps/v1/namespaces/default/statefulsets/web'),
  ]);
  const out: string[] = [];
  const want = new Set(Array.from({ length: replicas }, (_, i) => `web-${i}`));
  const ready = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
  const names = pods.items.map((p: any) => p.metadata.name);
  const missing = [...want].filter((n) => !names.includes(n));
  if (missing.length) out.push(`missing pods: ${missing.slice(0, 5).join(' ')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
  const orphans = names.filter((n: string) => !want.has(n));
  if (orphans.length) out.push(`pods that should not exist: ${orphans.join(' ')}`);
  const notReady = pods.items.filter((p: any) => want.has(p.metadata.name) && (!ready(p) || p.metadata.deletionTimestamp));
  if (notReady.length) out.push(`not Ready: ${notReady.slice(0, 5).map((p: any) => `${p.metadata.name}(${p.status?.phase ?? '-'}${p.metadata.deletionTimestamp ? ',deleting' : ''})`).join(' ')}${notReady.length > 5 ? ` (+${notReady.length - 5})` : ''}`);
  const byIP = new Map<string, string[]>();
  for (const p of pods.items) {
    const ip = p.status?.podIP;
    if (!ip || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    byIP.set(ip, [...(byIP.get(ip) ?? []), p.metadata.name]);
  }
  for (const [ip, who] of byIP) if (who.length > 1) out.push(`pods sharing ${ip}: ${who.join(' ')}`);
  const claimNames = pvcs.items.map((x: any) => x.metadata.name);
  const wantClaims = new Set([...want].map((n) => `data-${n}`));
  const extraClaims = claimNames.filter((n: string) => !wantClaims.has(n));
  if (extraClaims.length) out.push(`claims that should not exist: ${extraClaims.join(' ')}`);
  const unbound = pvcs.items.filter((x: any) => x.status?.phase !== 'Bound');
  if (unbound.length) out.push(`claims not Bound: ${unbound.slice(0, 5).map((x: any) => x.metadata.name).join(' ')}${unbound.length > 5 ? ` (+${unbound.length - 5})` : ''}`);
  if (claimNames.length !== wantClaims.size) out.push(`${claimNames.length} claims for ${wantClaims.size} replicas`);
  const volumesByClaim = new Map<string, number>();
  for (const pv of pvs.items) {
    const ref = pv.spec?.claimRef;
    if (!ref) continue;
    const k = `${ref.namespace}/${ref.name}`;
    volumesByClaim.set(k, (volumesByClaim.get(k) ?? 0) + 1);
    if (pv.status?.phase !== 'Bound') out.push(`volume ${pv.metadata.name} is ${pv.status?.phase} (claim ${k})`);
  }
  for (const [k, n] of volumesByClaim) if (n > 1) out.push(`claim ${k} has ${n} volumes`);
  if (sts.status?.readyReplicas !== replicas) out.push(`sts readyReplicas ${sts.status?.readyReplicas}`);
  return out;
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('double kill -9 during a Parallel scale-up with claims (slow)', () => {
  for (let rep = 1; rep <= REPETITIONS; rep++) {
    it(`repetition ${rep}/${REPETITIONS} converges`, async () => {
      const dataDir = tempDir('petset-drill-');
      dirs.push(dataDir);
      const args = ['--nodes', String(NODES), ...(process.env.PETSET_DRILL_ARGS ?? '').split(' ').filter(Boolean)];
      let c = await startCluster({ dataDir, extraArgs: args });
      live.push(c);
      await c.kubectl(['apply', '-f', '-'], { input: manifest(REPLICAS, Math.floor((rep - 1) / 2) % 2 === 1) });
      // first kill: somewhere in the scale-up (after some pods exist, before all are Ready)
      const firstKillAt = Math.max(1, Math.floor((REPLICAS * ((rep * 37) % 90)) / 100));
      await waitFor(async () => (await getJson(c, '/api/v1/namespaces/default/pods')).items.length >= firstKillAt, 60_000, `${firstKillAt} pods`, 25);
      if (rep % 3 === 0) {
        // as a shell does it: kill -9 and start again at once, before the old process is reaped
        const killed = c;
        killed.proc.kill('SIGKILL');
        live.splice(live.indexOf(killed), 1);
        c = await startCluster({ dataDir, extraArgs: args });
        live.push(c);
        await killed.stop('SIGKILL');
        await c.stop('SIGKILL');
        live.splice(live.indexOf(c), 1);
      } else {
        await c.stop('SIGKILL');
        live.splice(live.indexOf(c), 1);
      }

      // restart, and kill again ~0.2 s later: every other time while it is still starting
      if (rep % 2 === 0) {
        // the same simulated cluster as startCluster's (with petset up's default runtime, a start
        // quick enough to get its root pod network up before the kill would leave it behind)
        const early = spawn(process.execPath, [petsetBin, 'up', '--data-dir', dataDir, '--port', '0', '--runtime', 'sim', ...args], { stdio: 'ignore' });
        // listened for from the spawn: a start that ends by itself before the kill (it can be that
        // quick) must not leave this waiting for an exit that already happened
        const exited = new Promise((r) => early.once('exit', r));
        await pause(150 + ((rep * 53) % 200));
        early.kill('SIGKILL');
        await exited;
      } else {
        c = await startCluster({ dataDir, extraArgs: args });
        live.push(c);
        await pause(50 + ((rep * 53) % 300));
        await c.stop('SIGKILL');
        live.splice(live.indexOf(c), 1);
      }

      c = await startCluster({ dataDir, extraArgs: args });
      live.push(c);
      const started = Date.now();
      let last: string[] = [];
      try {
        let told = false;
        await waitFor(
          async () => {
            last = await problems(c, REPLICAS);
            if (last.length && !told && Date.now() - started > 20_000) {
              told = true; // a slow convergence says what it waits for
              console.log(`# repetition ${rep}: after 20 s still: ${last.join('; ')}`);
            }
            return last.length === 0;
          },
          CONVERGE_MS,
          'convergence',
          500,
        );
      } catch {
        assert.fail(`repetition ${rep} did not converge in ${CONVERGE_MS / 1000} s (first kill at ${firstKillAt} pods):\n  ${last.join('\n  ')}\n--- petset output ---\n${c.output().slice(-4000)}`);
      }
      console.log(`# repetition ${rep}: first kill at ${firstKillAt} pods; converged ${Date.now() - started} ms after the last restart`);
      assert.doesNotMatch(c.output(), /quarantined/, 'nothing a petset wrote is set aside at start-up');
      await c.stop('SIGKILL');
      live.splice(live.indexOf(c), 1);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
  }
});
