// Starting, stopping, restarting and crashing `petset up`: state survives, and the data
// directory is never shared.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import yaml from 'js-yaml';
import { petsetBin, startCluster, tempDir } from './harness.js';

function credentials(kubeconfig: string): { ca: string; token: string } {
  const kc = yaml.load(fs.readFileSync(kubeconfig, 'utf8')) as any;
  return {
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
    token: kc.users[0].user.token,
  };
}

function post(url: string, path: string, body: unknown, creds: { ca: string; token: string }, agent: https.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}${path}`,
      { method: 'POST', ca: creds.ca, agent, headers: { Authorization: `Bearer ${creds.token}`, 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('petset up lifecycle', () => {
  it('keeps every object across a clean restart, and refuses a second up on the same data directory', async () => {
    const dataDir = tempDir();
    const c1 = await startCluster({ dataDir });
    try {
      await c1.kubectl(['create', 'configmap', 'keep-me', '--from-literal=a=1']);
      await c1.kubectl(['create', 'namespace', 'team']);
      const second = spawnSync(process.execPath, [petsetBin, 'up', '--data-dir', dataDir, '--port', '0'], { encoding: 'utf8', timeout: 15_000 });
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, /in use by another petset \(pid \d+\)/);
    } finally {
      assert.equal(await c1.stop('SIGTERM'), 0);
    }
    const c2 = await startCluster({ dataDir });
    try {
      const cm = JSON.parse((await c2.kubectl(['get', 'cm', 'keep-me', '-o', 'json'])).stdout);
      assert.deepEqual(cm.data, { a: '1' });
      await c2.kubectl(['get', 'namespace', 'team']);
    } finally {
      await c2.stop();
    }
  });

  it('loses no acknowledged write when killed with SIGKILL during a burst', async () => {
    const dataDir = tempDir();
    const c1 = await startCluster({ dataDir });
    const creds = credentials(c1.kubeconfig);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    const acknowledged: string[] = [];
    let i = 0;
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const name = `burst-${i++}`;
        try {
          const code = await post(c1.url, '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { n: name } }, creds, agent);
          if (code === 201) acknowledged.push(name);
        } catch {
          return; // the server died
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // kill it mid-burst, once a good number of writes has been acknowledged
    const deadline = Date.now() + 15_000;
    while (acknowledged.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    killed = true;
    c1.proc.kill('SIGKILL');
    await Promise.all(workers);
    if (c1.proc.exitCode === null && c1.proc.signalCode === null) await new Promise((r) => c1.proc.once('exit', r));
    agent.destroy();
    assert.ok(acknowledged.length > 50, `only ${acknowledged.length} writes were acknowledged`);

    const c2 = await startCluster({ dataDir });
    try {
      const names = new Set(
        JSON.parse((await c2.kubectl(['get', 'cm', '-o', 'json'])).stdout).items.map((x: any) => x.metadata.name as string),
      );
      const lost = acknowledged.filter((n) => !names.has(n));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes were lost`);
    } finally {
      await c2.stop();
    }
  });
});
