// The live view in a real browser (Debian's chromium driven by playwright-core): rows appear as
// pods do, without reloading, and the controller's "why" names the pod it waits for.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { eventually, petsetBin, startCluster, tempDir, type Cluster } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;
if (skip) process.stdout.write(`# skipping the live view browser test: ${skip}\n`);

const WEB = `apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1, failureThreshold: 1}
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

describe('live view', () => {
  let c: Cluster;
  let browser: BrowserContext;
  let page: Page;
  let liveUrl: string;
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-live-view-shots-'));
  const profile = tempDir('petset-chromium-');

  before(async () => {
    // two nodes whose silence turns them NotReady within seconds, for the partition drill
    c = await startCluster({ extraArgs: ['--nodes', '2', '--node-monitor-period', '500ms', '--node-monitor-grace-period', '3s'] });
    liveUrl = /Live view: (\S+)/.exec(c.output())![1];
    if (skip) return;
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    process.stdout.write(`# live view screenshots in ${shots}\n`);
  });

  const phaseOf = (pod: string) => page.locator(`tr[data-pod="${pod}"] td.phase`);

  it('refuses API calls without the kubeconfig token', async () => {
    const base = liveUrl.replace(/#.*$/, '');
    const anonymous = await fetch(`${base}api/v1/pods`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).reason, 'Unauthorized');
    const wrong = await fetch(`${base}api/v1/pods`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    for (const [method, p] of [['GET', 'petset/watch?r=pods:'], ['GET', 'petset/list/pods'], ['GET', 'petset/dns/default/kubernetes'], ['POST', 'petset/nodes/node-1/crash']]) {
      for (const auth of [undefined, 'Bearer not-the-token']) {
        const r = await fetch(`${base}${p}`, { method, headers: auth ? { authorization: auth } : {} });
        assert.equal(r.status, 401, `${method} ${p} with ${auth ?? 'no credential'}`);
      }
    }
    assert.equal((await c.kubectl(['get', 'node', 'node-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout, 'True', 'the refused drill did nothing');
    const page404 = await fetch(`${base}../etc/passwd`);
    assert.equal(page404.status, 404);
  });

  it("serves its compact lists only to a token the API lets list them: a service account without rights gets the API's 403", async () => {
    const base = liveUrl.replace(/#.*$/, '');
    const admin = { authorization: `Bearer ${new URLSearchParams(liveUrl.replace(/^[^#]*#/, '')).get('token')}` };
    // the first list starts the view's own copy; the next ones are served from it once it is synced
    await eventually(async () => {
      const r = await fetch(`${base}petset/list/nodes`, { headers: admin });
      assert.equal(r.status, 200);
      const l = await r.json();
      assert.ok(l.items.some((n: any) => n.metadata.name === 'node-1'), 'node-1 listed');
      assert.ok(!l.items[0].status.images && !l.items[0].metadata.managedFields, 'only the fields the page draws');
      return true;
    });
    await c.kubectl(['create', 'serviceaccount', 'onlooker']);
    const token = (await c.kubectl(['create', 'token', 'onlooker'])).stdout.trim();
    for (const kind of ['nodes', 'pods', 'events']) {
      const r = await fetch(`${base}petset/list/${kind}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 403, `${kind} for a service account without rights`);
      assert.equal((await r.json()).reason, 'Forbidden');
    }
    const unknown = await fetch(`${base}petset/list/secrets`, { headers: admin });
    assert.equal(unknown.status, 404);
  });

  /** every pod's first non-missing phase, in the order the page showed them */
  const appearance = () => page.evaluate(() => (window as any).appeared as string[]);

  it('shows web-0..2 appear in order with their claims, volumes, directories and the DNS answers; scale by button, kubectl agrees', { skip }, async () => {
    const loadStart = Date.now();
    await page.goto(liveUrl);
    await page.locator('#conn', { hasText: /^live$/ }).waitFor();
    process.stdout.write(`# live view: page load to every list synced and watching: ${Date.now() - loadStart} ms\n`);
    assert.ok(!page.url().includes('token='), 'the token leaves the address bar');
    await page.evaluate(() => {
      const seen: string[] = ((window as any).appeared = []);
      new MutationObserver(() => {
        for (const td of document.querySelectorAll('tr[data-pod] td.phase')) {
          const pod = td.parentElement!.getAttribute('data-pod')!;
          if (td.textContent !== 'missing' && !seen.includes(pod)) seen.push(pod);
        }
      }).observe(document.getElementById('sets')!, { childList: true, subtree: true });
    });
    await c.kubectl(['apply', '-f', '-'], { input: WEB });
    for (const pod of ['web-0', 'web-1', 'web-2']) await page.locator(`tr[data-pod="${pod}"] td.phase.Running`).waitFor({ timeout: 30_000 });
    await page.locator('tr[data-pod="web-2"] td.ready', { hasText: 'True' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await appearance(), ['web-0', 'web-1', 'web-2'], 'OrderedReady: each pod shows up after the one before it');
    assert.deepEqual(await page.locator('tr[data-pod]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-pod'))), ['web-0', 'web-1', 'web-2']);
    // the Blocked condition, as the controller wrote it
    await page.locator('[data-set="default/web"] [data-why]', { hasText: /^nothing blocks web: 3\/3 Ready/ }).waitFor({ timeout: 30_000 });
    await page.locator('[data-set="default/web"] [data-conditions]', { hasText: 'Blocked=False (NotBlocked)' }).waitFor();
    // the DNS server's answers: one A record per Ready pod, one SRV per pod and port
    const ips = (await c.kubectl(['get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ').sort();
    const dnsA = page.locator('[data-dns="default/nginx"] [data-dns-a]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-dns="default/nginx"] [data-dns-a] code').length === n, 3, { timeout: 30_000 });
    assert.deepEqual((await dnsA.locator('code').allInnerTexts()).sort(), ips);
    const srv = (await page.locator('[data-dns="default/nginx"] [data-dns-srv] code').allInnerTexts()).map((t) => t.split(' ').slice(2).join(' ')).sort();
    assert.deepEqual(srv, ['80 web-0.nginx.default.svc.cluster.local', '80 web-1.nginx.default.svc.cluster.local', '80 web-2.nginx.default.svc.cluster.local']);
    await page.screenshot({ path: path.join(shots, '1-three-running.png'), fullPage: true });

    await page.evaluate(() => ((window as any).notReloaded = true));
    // the page's scale button, beside the kubectl command it stands for
    const button = page.locator('button[data-scale="default/web"][data-replicas="4"]');
    assert.equal(await button.locator('xpath=following-sibling::code[1]').innerText(), 'kubectl scale sts/web -n default --replicas=4');
    const clicked = Date.now();
    await button.click();
    // the next button offers 5 once the watch has delivered the new spec
    await page.locator('button[data-scale="default/web"][data-replicas="5"]').waitFor();
    process.stdout.write(`# live view: scale click to the page showing the new spec: ${Date.now() - clicked} ms\n`);
    await page.locator('tr[data-pod="web-3"] td.phase.Running').waitFor({ timeout: 30_000 });
    assert.equal((await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.spec.replicas}'])).stdout, '4');
    const table = (await c.kubectl(['get', 'sts', 'web'])).stdout;
    assert.match(table, /^NAME\s+READY\s+AGE\nweb\s+[34]\/4\s+\S+\n$/);
    assert.equal(await page.evaluate(() => (window as any).notReloaded), true, 'the row came from the watch, not a reload');
    const pv = (await c.kubectl(['get', 'pvc', 'www-web-3', '-o', 'jsonpath={.spec.volumeName}'])).stdout;
    const dir = (await c.kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).stdout;
    assert.ok(dir, 'the volume has a directory');
    await page.locator('[data-dns="default/nginx"] [data-dns-srv]', { hasText: 'web-3.nginx.default.svc.cluster.local' }).waitFor({ timeout: 30_000 });
    const row = (await page.locator('tr[data-pod="web-3"]').innerText()).replace(/\s+/g, ' ').trim();
    assert.equal(row.replace(/node-\d/, 'NODE').replace(/web-[0-9a-z]{6,}/, 'REV').replace(/ · [0-9.]+$/, ' · IP'), `web-3 Running True 0 NODE REV update www-web-3 (Bound) → ${pv} (Bound, Delete) → ${dir} web-3.nginx.default.svc.cluster.local · IP`);
    assert.match(await page.locator('#storage').innerText(), new RegExp(`default/www-web-3\\s+Bound\\s+${pv}\\s+Bound\\s+Delete\\s+${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    await page.screenshot({ path: path.join(shots, '2-scaled-to-four.png'), fullPage: true });
  });

  it('names web-1 in the why when it turns unready: the page, the Blocked condition and petset why say the same', { skip }, async () => {
    await c.kubectl(['annotate', 'pod', 'web-1', 'petset.io/sim-ready=false', '--overwrite']);
    await page.locator('tr[data-pod="web-1"] td.ready', { hasText: 'False' }).waitFor({ timeout: 30_000 });
    // an unready pet leaves the headless service's DNS answers
    await page.waitForFunction(() => document.querySelectorAll('[data-dns="default/nginx"] [data-dns-a] code').length === 3, undefined, { timeout: 30_000 });
    await c.kubectl(['scale', 'sts', 'web', '--replicas=5']);
    const text = 'web-4 is not created: OrderedReady waits for web-1, which is not Ready (readiness probe failed: HTTP probe failed with statuscode: 503)';
    await page.locator('[data-set="default/web"] [data-why]', { hasText: text }).waitFor({ timeout: 30_000 });
    assert.equal(await phaseOf('web-4').innerText(), 'missing');
    assert.match(await page.locator('tr[data-pod="web-4"]').innerText(), /OrderedReady waits for web-1/);
    await page.locator('tr[data-hint="web-1"]', { hasText: text }).waitFor();
    await page.screenshot({ path: path.join(shots, '3-web-4-waits-for-web-1.png'), fullPage: true });
    const cond = (await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Blocked")].status} {.status.conditions[?(@.type=="Blocked")].reason}: {.status.conditions[?(@.type=="Blocked")].message}'])).stdout;
    assert.equal(cond, `True OrderedReadyWaiting: ${text}`);
    const why = spawnSync(process.execPath, [petsetBin, 'why', 'sts/web', '--kubeconfig', c.kubeconfig], { encoding: 'utf8' });
    assert.equal(why.stdout, `statefulset/web: ${text}\n`);
    assert.equal(why.status, 3, 'petset why exits 3 while something blocks the set');
  });

  it('partitions web-1\'s node by button, shows web-1 Terminating there with the force-delete hint, force-deletes and heals it by button', { skip }, async () => {
    const node = (await c.kubectl(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.nodeName}'])).stdout;
    await page.locator(`a[data-select-node="${node}"]`).click();
    const drill = page.locator(`button[data-drill="partition"][data-node="${node}"]`);
    assert.equal(await drill.locator('xpath=following-sibling::code[1]').innerText(), `petset node partition ${node}`);
    await drill.click();
    await page.locator('#msg', { hasText: node }).waitFor();
    await page.locator(`tr[data-node="${node}"] td.ready-false`).waitFor({ timeout: 30_000 });
    // the pod's own delete button, beside its command
    await page.locator('a[data-select-pod="default/web"][data-name="web-1"]').click();
    const del = page.locator('button[data-delete-pod="default/web-1"]');
    assert.equal(await del.locator('xpath=following-sibling::code[1]').innerText(), 'kubectl delete pod web-1 -n default');
    await del.click();
    await page.locator('tr[data-pod="web-1"] td.phase', { hasText: 'Terminating' }).waitFor({ timeout: 30_000 });
    const hint = `web-1, which is Terminating on ${node}, which is NotReady: the pod can only go when the node returns or it is force-deleted (kubectl delete pod web-1 -n default --grace-period=0 --force)`;
    await page.locator('tr[data-hint="web-1"]', { hasText: hint }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-set="default/web"] [data-why]').innerText(), `web-4 is not created: OrderedReady waits for ${hint}`);
    // the events of the selected pod only
    await page.locator('#evfilter', { hasText: 'events of Pod/web-1' }).waitFor();
    const kinds = await page.locator('#events li a').allInnerTexts();
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'Pod/web-1'), kinds.join(', '));
    await page.screenshot({ path: path.join(shots, '4-terminating-on-lost-node.png'), fullPage: true });
    const cond = (await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Blocked")].reason}'])).stdout;
    assert.equal(cond, 'PodTerminatingOnLostNode');
    const warning = await c.kubectl(['get', 'events', '--field-selector', 'reason=PodTerminatingOnLostNode,involvedObject.name=web', '-o', 'jsonpath={.items[*].message}']);
    assert.equal(warning.stdout, `web-4 is not created: OrderedReady waits for ${hint}`);

    await page.locator('tr[data-hint="web-1"] button[data-force-delete="default/web-1"]').click();
    await page.locator('#msg', { hasText: 'pod "web-1" force deleted' }).waitFor();
    // the controller makes web-1 again; its volume is still attached to the lost node until it returns
    await page.locator('tr[data-pod="web-1"] td.phase', { hasText: /^(Pending|Running)$/ }).waitFor({ timeout: 30_000 });
    await page.locator(`a[data-select-node="${node}"]`).click();
    await page.locator(`button[data-drill="heal"][data-node="${node}"]`).click();
    await page.locator('#msg', { hasText: `node ${node} healed` }).waitFor();
    await page.locator(`tr[data-node="${node}"] td.ready-true`).waitFor({ timeout: 30_000 });
    // and goes on to web-4
    await page.locator('tr[data-pod="web-4"] td.ready', { hasText: 'True' }).waitFor({ timeout: 60_000 });
    assert.equal((await c.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout, 'True');
  });

  it('changes the partition, rolls back, cordons and drains by button, each as its kubectl command does', { skip }, async () => {
    const partition = page.locator('button[data-partition="default/web"][data-value="3"]');
    await page.locator('button[data-partition="default/web"][data-value="1"]').click();
    await page.locator('tr[data-partition-line]', { hasText: 'partition 1' }).waitFor();
    await page.locator('button[data-partition="default/web"][data-value="2"]').click();
    await page.locator('button[data-partition="default/web"][data-value="3"]').waitFor();
    assert.equal(await partition.locator('xpath=following-sibling::code[1]').innerText(), `kubectl patch sts web -n default -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}}}}'`);
    assert.equal((await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.spec.updateStrategy.rollingUpdate.partition}'])).stdout, '2');
    const before = (await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.updateRevision}'])).stdout;
    await c.kubectl(['set', 'image', 'sts/web', 'nginx=nginx:1.26']);
    const update = await eventually(async () => {
      const r = (await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.updateRevision}'])).stdout;
      return r !== before && r;
    }, 30_000, 'a new update revision');
    // web-4 moves to the new revision first; ordinals below the line stay
    await page.locator('tr[data-pod="web-4"] td.rev.update', { hasText: update }).waitFor({ timeout: 60_000 });
    await page.locator('tr[data-partition-line]', { hasText: 'partition 2: ordinals ≥ 2 move to the update revision' }).waitFor();
    assert.equal(await page.locator('tr[data-pod="web-0"] td.rev small').innerText(), 'current');
    await page.screenshot({ path: path.join(shots, '5-partition-and-update.png'), fullPage: true });
    await page.locator('button[data-rollback="default/web"]').click();
    await page.locator('#msg', { hasText: 'statefulset.apps/web rolled back' }).waitFor();
    assert.equal((await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout, 'nginx:1.25');

    const node = (await c.kubectl(['get', 'pod', 'web-0', '-o', 'jsonpath={.spec.nodeName}'])).stdout;
    await page.locator(`a[data-select-node="${node}"]`).click();
    await page.locator(`button[data-cordon="${node}"]`).click();
    await page.locator(`tr[data-node="${node}"]`, { hasText: 'SchedulingDisabled' }).waitFor();
    assert.match((await c.kubectl(['get', 'node', node])).stdout, /Ready,SchedulingDisabled/);
    await page.locator(`button[data-uncordon="${node}"]`).click();
    await page.locator(`button[data-drain="${node}"]`).click();
    await page.locator('#msg', { hasText: `node/${node} drained` }).waitFor({ timeout: 120_000 });
    const left = (await c.kubectl(['get', 'pods', '-l', 'app=nginx', '--field-selector', `spec.nodeName=${node}`, '-o', 'name'])).stdout;
    assert.equal(left, '', 'no pet is left on the drained node');
    assert.match((await c.kubectl(['get', 'node', node])).stdout, /SchedulingDisabled/);
    await page.screenshot({ path: path.join(shots, '6-drained.png'), fullPage: true });
  });
});
