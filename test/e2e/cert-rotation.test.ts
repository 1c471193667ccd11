// A joined node renews its client certificate by itself, as the kubelet's
// --rotate-certificates: with `petset up --cluster-signing-duration 40s` every node
// certificate lives 40 s; the agent asks for a new one (a CSR of its own, system:node:<name>,
// auto-approved as selfnodeclient) at 70-90 % of that, switches to it without a restart, and
// goes on renewing its Lease after the first certificate expired, which the API server now refuses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { startCluster, tempDir, eventually, randomLoopbackPodRange, petsetBin, type Cluster } from './harness.js';
import { Processes } from './processes.js';

const procs = new Processes();
const dirs: string[] = [];
let cluster: Cluster;
let podCidr: string;
const LIFETIME_MS = 40_000;

before(async () => {
  podCidr = randomLoopbackPodRange(2);
  cluster = await startCluster({ extraArgs: ['--pod-cidr', podCidr, '--cluster-signing-duration', '40s'] });
});
after(async () => {
  await procs.stopAll();
  await cluster?.stop();
  for (const d of [...dirs, cluster?.dataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const json = async (...args: string[]) => JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout);
const certOf = (kubeconfig: string) => {
  const cfg = yaml.load(fs.readFileSync(kubeconfig, 'utf8')) as any;
  return new X509Certificate(Buffer.from(cfg.users[0].user['client-certificate-data'], 'base64'));
};

describe('node client certificate rotation', () => {
  it('a joined agent renews its short-lived certificate through a CSR of its own and keeps working after the first one expired', async () => {
    const printed = execFileSync(process.execPath, [petsetBin, 'token', 'create', '--print-join-command', '--kubeconfig', cluster.kubeconfig], { encoding: 'utf8' }).trim();
    const elsewhere = tempDir('petset-rotate-');
    dirs.push(elsewhere);
    const agent = procs.run([...printed.split(' ').slice(1), '--node-name', 'rot-1', '--data-dir', elsewhere, '--pod-cidr', podCidr]);
    const nodeKubeconfig = path.join(elsewhere, 'nodes', 'rot-1', 'kubeconfig');
    await eventually(async () => (await json('get', 'node', 'rot-1').catch(() => undefined))?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'), 60_000, `rot-1 Ready:\n${agent.output()}`);

    // the first certificate, from the bootstrap CSR: 40 s from its signing, as --cluster-signing-duration says
    const first = certOf(nodeKubeconfig);
    const firstEnd = Date.parse(first.validTo);
    assert.ok(firstEnd - Date.parse(first.validFrom) <= LIFETIME_MS + 4_000 + 1_000, `${first.validFrom} .. ${first.validTo}`);
    const oldKubeconfig = path.join(elsewhere, 'old-kubeconfig');
    fs.copyFileSync(nodeKubeconfig, oldKubeconfig);
    // the agent plans the renewal at 70-90 % of the lifetime, as the kubelet's certificate manager does
    const planned = [...agent.output().matchAll(/certificate expiration is (\S+), rotation deadline is (\S+)/g)].find((m) => Date.parse(m[1]) === firstEnd);
    assert.ok(planned, agent.output());
    const life = firstEnd - Date.parse(first.validFrom);
    const at = (Date.parse(planned[2]) - Date.parse(first.validFrom)) / life;
    assert.ok(at >= 0.7 && at <= 0.9, `rotation deadline ${planned[2]} is at ${Math.round(at * 100)} % of ${first.validFrom} .. ${first.validTo}`);

    // before it expires the agent asks again, as itself, and the controller manager approves and signs
    const renewal = await eventually(async () => {
      const items = (await json('get', 'csr')).items as any[];
      return items.find((c) => c.spec.username === 'system:node:rot-1' && c.status?.certificate);
    }, LIFETIME_MS + 30_000, `a renewal CSR from system:node:rot-1:\n${agent.output()}`);
    assert.deepEqual(renewal.status.conditions.map((c: any) => [c.type, c.reason]), [['Approved', 'AutoApproved']]);
    assert.ok(renewal.spec.groups.includes('system:nodes'));
    assert.match((await cluster.kubectl(['get', 'csr', renewal.metadata.name])).stdout, /kubernetes.io\/kube-apiserver-client-kubelet\s+system:node:rot-1\s+<none>\s+Approved,Issued/);

    // the kubeconfig now holds a certificate from a renewal, with the same subject, and the same process runs on
    await eventually(() => certOf(nodeKubeconfig).serialNumber !== first.serialNumber, 30_000, 'the kubeconfig rewritten');
    const now = certOf(nodeKubeconfig);
    assert.equal(now.subject.split('\n').sort().join(','), 'CN=system:node:rot-1,O=system:nodes');
    await eventually(() => /client certificate rotated \(certificate signing request csr-\S+, serial [0-9A-F]+\); connections now use it/.test(agent.output()), 30_000, agent.output());
    assert.equal(agent.child.exitCode, null, 'the agent was not restarted');

    // once the first certificate expired: the API server refuses it, and the agent still renews its Lease with the new one
    await eventually(() => Date.now() > firstEnd + 1_000, LIFETIME_MS + 5_000, 'the first certificate expired');
    const refused = await cluster.kubectl(['--kubeconfig', oldKubeconfig, 'get', 'node', 'rot-1'], { allowFail: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Unauthorized|provide credentials/);
    await eventually(async () => Date.parse((await json('get', 'lease', 'rot-1', '-n', 'kube-node-lease')).spec.renewTime) > firstEnd + 1_000, 30_000, `lease renewed after the first certificate's expiry:\n${agent.output()}`);
    const node = await json('get', 'node', 'rot-1');
    assert.ok(node.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    const whoami = JSON.parse((await cluster.kubectl(['--kubeconfig', nodeKubeconfig, 'auth', 'whoami', '-o', 'json'])).stdout);
    assert.equal(whoami.status.userInfo.username, 'system:node:rot-1');
    assert.equal(agent.child.exitCode, null, 'still the first agent process');
    assert.doesNotMatch(agent.output(), /certificate rotation failed/);
  });
});
