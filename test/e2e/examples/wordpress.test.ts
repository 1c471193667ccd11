// examples/wordpress (seed 001's "5 instances of WordPress") through `petset up -f` on real
// pods and the real kubectl: five WordPress servers of a Deployment behind one Service, in
// front of a MariaDB StatefulSet. Through the service: the install page (which WordPress
// shows only once it reached the database), the installation, then the site's feed, read
// from the database by whichever instance answers; the row is in MariaDB itself. The site
// stays installed when the database's pod is deleted and when petset up restarts.
// Then seed 001's autoscaler (examples/wordpress/hpa.yaml: 2 to 5 instances at 50 % CPU): idle,
// it brings the five down to two; under HTTP load the test generates against the Service it
// scales them back up to five, and down to two once the load stops. The scale-down
// stabilization window is shortened by the HPA's own `behavior` field.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, randomLoopbackPodRange, randomLoopbackServiceRange, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';

const why =
  processRuntimeUnavailable() ??
  (!fs.existsSync('/usr/share/wordpress/wp-settings.php') ? 'wordpress is not installed (apt-get install wordpress)' : !fs.existsSync('/usr/sbin/mariadbd') ? 'mariadb-server is not installed' : undefined);
if (why) console.log(`# skipping the wordpress example: ${why}`);

type Obj = Record<string, any>;
const dir = path.join(repoRoot, 'examples', 'wordpress');

const keepAlive = new http.Agent({ keepAlive: true });

function request(url: string, body?: string, host?: string, agent?: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body ? 'POST' : 'GET', headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...(host ? { host } : {}) }, timeout: 60_000, ...(agent ? { agent } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

describe('examples/wordpress: five WordPress instances in front of MariaDB', { skip: why }, () => {
  let c: Cluster;
  let dataDir: string;
  // the same ranges across the restart of petset up (the service keeps its cluster IP)
  const args = ['--runtime', 'process', '--horizontal-pod-autoscaler-sync-period', '5s', '--pod-cidr', randomLoopbackPodRange(1), '--service-cluster-ip-range', randomLoopbackServiceRange()];

  before(async () => {
    dataDir = tempDir('petset-wordpress-e2e-');
    c = await startCluster({ dataDir, extraArgs: [...args, '-f', path.join(dir, 'mysql.yaml'), '-f', path.join(dir, 'wordpress.yaml')] });
  });

  after(async () => {
    keepAlive.destroy();
    await c?.stop('SIGINT');
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the install page through the service, installs, every instance reads the site from the database, and the site outlives a deleted database pod and a restart of petset up', { timeout: 600_000 }, async () => {
    await eventually(async () => (await c.kubectl(['get', 'deploy', 'wordpress'], { allowFail: true })).code === 0, 30_000, 'the Deployment from up -f');
    await c.kubectl(['rollout', 'status', 'sts/wordpress-mysql', '--timeout=180s'], { timeoutMs: 190_000 });
    await c.kubectl(['rollout', 'status', 'deploy/wordpress', '--timeout=180s'], { timeoutMs: 190_000 });
    const pods = JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=wordpress,tier=frontend', '-o', 'json'])).stdout).items as Obj[];
    assert.equal(pods.length, 5);
    assert.ok(pods.every((p) => p.status.containerStatuses[0].ready));
    const svc = JSON.parse((await c.kubectl(['get', 'svc', 'wordpress', '-o', 'json'])).stdout);
    const base = `http://${svc.spec.clusterIP}`;

    // not installed yet: WordPress reached the database and sends you to the installer
    const first = await eventually(async () => {
      const r = await request(`${base}/`).catch(() => undefined);
      return r && r.status === 302 ? r : undefined;
    }, 60_000, 'a redirect to the installer');
    assert.match(String(first.headers.location), /\/wp-admin\/install\.php$/);
    const install = await request(`${base}/wp-admin/install.php`);
    assert.equal(install.status, 200);
    assert.match(install.body, /famous five-minute WordPress installation/);

    const form = new URLSearchParams({
      weblog_title: 'Pets of petset',
      user_name: 'admin',
      admin_password: 'correct horse battery staple',
      admin_password2: 'correct horse battery staple',
      pw_weak: '1',
      admin_email: 'admin@example.com',
      blog_public: '0',
      language: '',
    }).toString();
    const done = await request(`${base}/wp-admin/install.php?step=2`, form);
    assert.equal(done.status, 200, done.body.slice(0, 2000));
    assert.match(done.body, /WordPress has been installed/);

    // every instance now reads the installed site from the database: each pod (asked under the
    // site's address, as the service's clients ask), then the service
    // (the installer found that PHP's server routes unknown paths to index.php, so WordPress
    // turned pretty permalinks on: the feed lives at /feed/)
    for (const p of pods) {
      const feed = await request(`http://${p.status.podIP}/feed/`, undefined, svc.spec.clusterIP);
      assert.equal(feed.status, 200, `${p.metadata.name}: ${feed.headers.location ?? ''} ${feed.body.slice(0, 500)}`);
      assert.match(feed.body, /<title>Pets of petset<\/title>/, p.metadata.name);
    }
    const moved = await request(`${base}/?feed=rss2`);
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, `${base}/feed/`);
    const feed = await request(`${base}/feed/`);
    assert.match(feed.body, /<title>Pets of petset<\/title>/);
    assert.match(feed.body, /Hello world!/, 'the first post, from wp_posts');
    const row = await c.kubectl(['exec', 'wordpress-mysql-0', '--', 'sh', '-c', 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD" -N -B wordpress -e "select option_value from wp_options where option_name=\'blogname\'"']);
    assert.equal(row.stdout.trim(), 'Pets of petset');

    // the database's pod deleted: it comes back on its claim, the site is still installed
    const siteTitle = () =>
      eventually(async () => {
        const r = await request(`${base}/feed/`).catch(() => undefined);
        return r && r.status === 200 && /<title>Pets of petset<\/title>/.test(r.body) ? r : undefined;
      }, 120_000, 'the installed site through the service');
    const uid = JSON.parse((await c.kubectl(['get', 'pod', 'wordpress-mysql-0', '-o', 'json'])).stdout).metadata.uid;
    await c.kubectl(['delete', 'pod', 'wordpress-mysql-0']);
    await eventually(async () => {
      const p = JSON.parse((await c.kubectl(['get', 'pod', 'wordpress-mysql-0', '-o', 'json'], { allowFail: true })).stdout || '{}');
      return p.metadata?.uid && p.metadata.uid !== uid && p.status?.containerStatuses?.[0]?.ready;
    }, 120_000, 'a new wordpress-mysql-0');
    await siteTitle();

    // petset up restarts: the database and the five instances come back, the site with them
    await c.stop('SIGINT');
    c = await startCluster({ dataDir, extraArgs: args });
    await c.kubectl(['rollout', 'status', 'sts/wordpress-mysql', '--timeout=180s'], { timeoutMs: 190_000 });
    await c.kubectl(['rollout', 'status', 'deploy/wordpress', '--timeout=180s'], { timeoutMs: 190_000 });
    await siteTitle();
  });

  it('autoscales: idle down to 2, up to 5 under generated load, back to 2 once it stops', { timeout: 400_000 }, async () => {
    type Deploy = { spec: { replicas: number }; status: { readyReplicas?: number; replicas?: number } };
    const deploy = async () => JSON.parse((await c.kubectl(['get', 'deploy', 'wordpress', '-o', 'json'])).stdout) as Deploy;
    const settledAt = async (n: number) => {
      const d = await deploy();
      return d.spec.replicas === n && d.status.replicas === n && d.status.readyReplicas === n;
    };
    await c.kubectl(['apply', '-f', path.join(dir, 'hpa.yaml')]);
    // the test cannot wait out the default 5-minute scale-down window: the HPA's own behavior shortens it
    await c.kubectl(['patch', 'hpa', 'wordpress', '--type=merge', '-p', JSON.stringify({ spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 10 } } } })]);
    const hpa = JSON.parse((await c.kubectl(['get', 'hpa.v2.autoscaling', 'wordpress', '-o', 'json'])).stdout);
    assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 10);
    assert.equal(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds, 0, "the API server defaults the rest of behavior as upstream's");

    // idle: well under 25m (half of the 50m each pod requests), so five are too many
    await eventually(() => settledAt(2), 120_000, 'the idle WordPress Deployment scaled down to the HPA minimum of 2');
    const svc = JSON.parse((await c.kubectl(['get', 'svc', 'wordpress', '-o', 'json'])).stdout);
    const base = `http://${svc.spec.clusterIP}`;

    // load: a few requests of the front page in flight at a time (each one renders the site from
    // the database in PHP), bounded so that two shared cores keep up
    let stop = false;
    let served = 0;
    let failed = 0;
    const loop = async () => {
      while (!stop) {
        const r = await request(`${base}/`, undefined, undefined, keepAlive).catch(() => undefined);
        if (r?.status === 200) served++;
        else failed++;
      }
    };
    const loops = [loop(), loop(), loop()];
    try {
      await eventually(async () => (await deploy()).spec.replicas === 5, 180_000, 'the HPA to scale WordPress to 5 under load');
      const row = (await c.kubectl(['get', 'hpa', 'wordpress', '--no-headers'])).stdout;
      console.log(`under load: ${row.trim()}`);
      assert.match(row, /^wordpress\s+Deployment\/wordpress\s+cpu: \d+%\/50%\s+2\s+5\s+\d\s/, row);
      const events = (await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}'])).stdout;
      assert.match(events, /^New size: 2; reason: All metrics below target$/m, events);
      assert.match(events, /^New size: 5; reason: cpu resource utilization \(percentage of request\) above target$/m, events);
      await eventually(() => settledAt(5), 180_000, 'five ready WordPress pods under load');
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    console.log(`load: ${served} front pages served, ${failed} failed`);
    assert.ok(served > 0, `the site answered under load (${served} served, ${failed} failed)`);

    // the load is gone: after the 10 s window, back to the minimum
    await eventually(() => settledAt(2), 180_000, 'WordPress scaled back down to 2 after the load stopped');
    // at 2 the pods may still show the load's last CPU (a recommendation of exactly 2, within
    // range); once they are idle the recommendation falls below the minimum, which limits it
    const hpaStatus = async () => JSON.parse((await c.kubectl(['get', 'hpa.v2.autoscaling', 'wordpress', '-o', 'json'])).stdout).status;
    const limitedBy = (status: Obj) => status.conditions.find((x: Obj) => x.type === 'ScalingLimited');
    const status = await eventually(async () => {
      const s = await hpaStatus();
      return limitedBy(s)?.reason === 'TooFewReplicas' ? s : undefined;
    }, 120_000, 'ScalingLimited TooFewReplicas once the pods are idle').catch(hpaStatus);
    assert.equal(status.desiredReplicas, 2);
    assert.ok(status.currentMetrics[0].resource.current.averageUtilization < 50, JSON.stringify(status.currentMetrics));
    const limited = limitedBy(status);
    assert.deepEqual([limited?.status, limited?.reason], ['True', 'TooFewReplicas'], JSON.stringify(status.conditions));
    // the two left still serve the site
    const feed = await request(`${base}/feed/`);
    assert.match(feed.body, /<title>Pets of petset<\/title>/);
  });
});
