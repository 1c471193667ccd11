// The live view's bench (printed, not asserted: the machine's load decides the numbers): a set
// of 1,000 pods on twelve simulated nodes; the page's load until every row is drawn and until
// every list (the events too) is synced, and the time from an API write (answered) to the page
// showing it, for a scale and for a cordon. Goals: load < 1 s, updates < 500 ms.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readKubeconfigEndpoint } from '../../src/cli/webview.js';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;
const PODS = 1000;

const SET = `apiVersion: v1
kind: Service
metadata: {name: herd}
spec:
  clusterIP: None
  selector: {app: herd}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: herd}
spec:
  serviceName: herd
  replicas: ${PODS}
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: herd}}
  template:
    metadata: {labels: {app: herd}}
    spec:
      containers: [{name: app, image: nginx:1.25}]
`;

describe('live view bench', { skip }, () => {
  let c: Cluster;
  let browser: BrowserContext;
  let page: Page;
  let liveUrl: string;
  const profile = tempDir('petset-chromium-');
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-live-view-bench-'));

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', '12'] });
    liveUrl = /Live view: (\S+)/.exec(c.output())![1];
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    process.stdout.write(`# live view bench screenshot in ${shots}\n`);
  });

  /** One API write with the kubeconfig's credential, as any client makes it; resolves when answered. */
  function patch(p: string, body: unknown, type: string): Promise<void> {
    const ep = readKubeconfigEndpoint(c.kubeconfig);
    const u = new URL(p, ep.server);
    return new Promise((resolve, reject) => {
      const r = https.request(u, { method: 'PATCH', ca: ep.caPem, headers: { authorization: `Bearer ${ep.token}`, 'content-type': type } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${p}: HTTP ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end(JSON.stringify(body));
    });
  }

  it(`prints the page load with ${PODS} pods and how soon updates show after the write`, { timeout: 900_000 }, async () => {
    const created = Date.now();
    await c.kubectl(['apply', '-f', '-'], { input: SET });
    await eventually(async () => (await c.kubectl(['get', 'sts', 'herd', '-o', 'jsonpath={.status.readyReplicas}'])).stdout === String(PODS), 600_000, `${PODS} ready pods`);
    process.stdout.write(`# bench: ${PODS} pods Ready after ${Date.now() - created} ms\n`);

    const rowsDrawn: number[] = [];
    const allSynced: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      await page.goto(i === 0 ? liveUrl : liveUrl.replace(/#.*$/, ''));
      await page.locator(`tr[data-pod="herd-${PODS - 1}"] td.phase.Running`).waitFor({ timeout: 60_000 });
      rowsDrawn.push(Date.now() - t);
      await page.locator('#conn', { hasText: /^live$/ }).waitFor({ timeout: 60_000 });
      allSynced.push(Date.now() - t);
    }
    const load = os.loadavg()[0].toFixed(1);
    // where the last load's time went: the API's answers against the page's own work
    const lists = await page.evaluate(() =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => /\/api(s\/apps)?\/v1\/[a-z]+$/.test(new URL(e.name).pathname))
        .map((e) => `${new URL(e.name).pathname.split('/').pop()} ${Math.round(e.responseEnd)} ms (${Math.round(e.transferSize / 1024)} KiB)`),
    );
    process.stdout.write(`# bench: the last load's lists arrived (ms since navigation start): ${lists.join(', ')}\n`);
    const drawn = await page.evaluate(() => (window as any).petsetDrawing);
    process.stdout.write(`# bench: the page's script drew ${drawn.count} times, ${Math.round(drawn.totalMs)} ms in all, the longest ${Math.round(drawn.maxMs)} ms\n`);
    assert.equal(await page.locator('tr[data-pod]').count(), PODS);
    process.stdout.write(`# bench: page load with ${PODS} pods: every row drawn ${rowsDrawn.join(', ')} ms; every list synced (events too) ${allSynced.join(', ')} ms (load average ${load})\n`);
    await page.screenshot({ path: path.join(shots, 'thousand-pods.png') });

    const scales: number[] = [];
    for (let i = 1; i <= 5; i++) {
      // a replica count the page shows in the set's status line at once (the pods follow later)
      await patch('/apis/apps/v1/namespaces/default/statefulsets/herd/scale', { spec: { replicas: PODS + i } }, 'application/merge-patch+json');
      const t = Date.now();
      await page.locator('[data-set="default/herd"] [data-status]', { hasText: `replicas ${PODS + i} wanted` }).waitFor({ timeout: 10_000 });
      scales.push(Date.now() - t);
    }
    const cordons: number[] = [];
    for (let i = 0; i < 5; i++) {
      const on = i % 2 === 0;
      await patch('/api/v1/nodes/node-1', { spec: { unschedulable: on ? true : null } }, 'application/strategic-merge-patch+json');
      const t = Date.now();
      if (on) await page.locator('tr[data-node="node-1"]', { hasText: 'SchedulingDisabled' }).waitFor({ timeout: 10_000 });
      else await page.waitForFunction(() => !document.querySelector('tr[data-node="node-1"]')?.textContent?.includes('SchedulingDisabled'), undefined, { timeout: 10_000 });
      cordons.push(Date.now() - t);
    }
    process.stdout.write(`# bench: write answered → page shows it, scale: ${scales.join(', ')} ms; cordon/uncordon: ${cordons.join(', ')} ms\n`);
    const verdict = (ms: number[], limit: number) => (Math.max(...ms) < limit ? `met (< ${limit} ms)` : `NOT met (goal < ${limit} ms)`);
    process.stdout.write(`# bench: load ${verdict(rowsDrawn.slice(1), 1000)}; updates ${verdict([...scales, ...cordons], 500)}\n`);
  });
});
