// The live view in a real browser (Debian's chromium driven by playwright-core): rows appear as
// pods do, without reloading, and the controller's "why" names the pod it waits for.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { petsetBin, startCluster, tempDir, type Cluster } from './harness.js';

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
    const page404 = await fetch(`${base}../etc/passwd`);
    assert.equal(page404.status, 404);
  });

  it('shows web-0..2 Running, then web-3 after pressing scale (kubectl agrees) without reloading, then why web-4 waits for web-1', { skip }, async () => {
    const loadStart = Date.now();
    await page.goto(liveUrl);
    await page.locator('#conn', { hasText: 'live' }).waitFor();
    process.stdout.write(`# live view: page load to every list synced and watching: ${Date.now() - loadStart} ms\n`);
    assert.ok(!page.url().includes('token='), 'the token leaves the address bar');
    await c.kubectl(['apply', '-f', '-'], { input: WEB });
    for (const pod of ['web-0', 'web-1', 'web-2']) await page.locator(`tr[data-pod="${pod}"] td.phase.Running`).waitFor({ timeout: 30_000 });
    await page.locator('tr[data-pod="web-2"] td.ready', { hasText: 'True' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, '1-three-running.png'), fullPage: true });
    assert.deepEqual(await page.locator('tr[data-pod]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-pod'))), ['web-0', 'web-1', 'web-2']);

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
    assert.equal(await page.evaluate(() => (window as any).notReloaded), true, 'the row came from the watch, not a reload');
    assert.match((await page.locator('tr[data-pod="web-3"]').innerText()).replace(/\s+/g, ' '), /^web-3 Running True 0 node-\d web-\w+ www-web-3 \(Bound → \S+\) web-3\.nginx\.default\.svc\.cluster\.local · [0-9.]+$/);
    await page.screenshot({ path: path.join(shots, '2-scaled-to-four.png'), fullPage: true });

    await c.kubectl(['annotate', 'pod', 'web-1', 'petset.io/sim-ready=false', '--overwrite']);
    await page.locator('tr[data-pod="web-1"] td.ready', { hasText: 'False' }).waitFor({ timeout: 30_000 });
    await c.kubectl(['scale', 'sts', 'web', '--replicas=5']);
    const text = 'web-4 is not created: OrderedReady waits for web-1, which is not Ready (readiness probe failed: HTTP probe failed with statuscode: 503)';
    await page.locator('[data-set="default/web"] [data-why]', { hasText: text }).waitFor({ timeout: 30_000 });
    assert.equal(await phaseOf('web-4').innerText(), 'missing');
    assert.match(await page.locator('tr[data-pod="web-4"]').innerText(), /OrderedReady waits for web-1/);
    await page.screenshot({ path: path.join(shots, '3-web-4-waits-for-web-1.png'), fullPage: true });
  });

  it('shows a pod Terminating on a partitioned node with the force-delete hint', { skip }, async () => {
    const node = (await c.kubectl(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.nodeName}'])).stdout;
    execFileSync(process.execPath, [petsetBin, 'node', 'partition', node, '--data-dir', c.dataDir]);
    await page.locator(`tr[data-node="${node}"] td.ready-false`).waitFor({ timeout: 30_000 });
    await c.kubectl(['delete', 'pod', 'web-1', '--wait=false']);
    await page.locator('tr[data-pod="web-1"] td.phase', { hasText: 'Terminating' }).waitFor({ timeout: 30_000 });
    const hint = `web-1, which is Terminating on ${node}, which is NotReady: the pod can only go when the node returns or it is force-deleted (kubectl delete pod web-1 -n default --grace-period=0 --force)`;
    await page.locator('tr[data-hint="web-1"]', { hasText: hint }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-set="default/web"] [data-why]').innerText(), `web-4 is not created: OrderedReady waits for ${hint}`);
    await page.screenshot({ path: path.join(shots, '4-terminating-on-lost-node.png'), fullPage: true });
  });
});
