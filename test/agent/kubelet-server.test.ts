// The node agent's own server (what the API server connects to for logs, exec, attach,
// port-forward): its address and port in the Node, its token check, and its answers.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startNodeAgent, type NodeAgent } from '../../src/agent/agent.js';
import { nodeAddressFor } from '../../src/agent/network.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let srv: TestServer;
let agent: NodeAgent;
let base: { host: string; port: number };
const TOKEN = 'the-api-server-token';

before(async () => {
  srv = await startTestServer();
  agent = await startNodeAgent({ client: srv.client, nodeName: 'ks-node', nodeIndex: 3001, server: { token: TOKEN } });
  const node = await srv.client.nodes().get('ks-node');
  base = { host: node.status!.addresses.find((a: any) => a.type === 'InternalIP').address, port: node.status!.daemonEndpoints.kubeletEndpoint.Port };
  await srv.client.pods('default').create({ metadata: { name: 'p' }, spec: { nodeName: 'ks-node', containers: [{ name: 'c', image: 'x' }] } });
  await waitFor(async () => (await srv.client.pods('default').get('p')).status?.phase === 'Running', 10_000, 'the pod to run');
});

after(async () => {
  await agent.stop();
  await srv.stop();
});

function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: base.host, port: base.port, path, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe("the agent's server", () => {
  it('listens on the Node address and port it reports (not the fixed 10250)', () => {
    assert.equal(base.host, nodeAddressFor(3001));
    assert.notEqual(base.port, 10250);
  });

  it('refuses callers without the token, or with another one', async () => {
    assert.equal((await get('/healthz')).status, 401);
    assert.equal((await get('/containerLogs/default/p/c', 'wrong')).status, 401);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${base.host}:${base.port}/exec/default/p/c?command=true&stdout=true`, ['v5.channel.k8s.io']);
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
  });

  it('answers a path it cannot decode with 400 and keeps serving', async () => {
    assert.equal((await get('/containerLogs/default/%E0%A4%A/c', TOKEN)).status, 400);
    assert.equal((await get('/healthz', TOKEN)).body, 'ok');
  });

  it('serves container logs, and says which container or pod it does not have', async () => {
    const logs = await get('/containerLogs/default/p/c?timestamps=true', TOKEN);
    assert.equal(logs.status, 200);
    assert.match(logs.body, /^\d{4}-\d\d-\d\dT[\d:.]+Z petset-sim: container c started in pod default\/p/);
    const noPod = await get('/containerLogs/default/nope/c', TOKEN);
    assert.equal(noPod.status, 404);
    assert.equal(noPod.body, 'pod default/nope does not run on node ks-node');
    assert.equal((await get('/containerLogs/default/p/c?previous=true', TOKEN)).body, 'previous terminated container "c" in pod "p" not found');
  });

  it('answers exec on the simulated runtime with a Status naming it', async () => {
    const messages: Buffer[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://${base.host}:${base.port}/exec/default/p/c?command=true&stdout=true`, ['v5.channel.k8s.io'], { headers: { Authorization: `Bearer ${TOKEN}` } });
      ws.on('message', (m: Buffer) => messages.push(m));
      ws.on('close', (c) => resolve(c));
      ws.on('error', reject);
    });
    assert.equal(code, 1000);
    assert.equal(messages.length, 1);
    assert.equal(messages[0][0], 3);
    const status = JSON.parse(messages[0].subarray(1).toString());
    assert.equal(status.status, 'Failure');
    assert.match(status.message, /simulated runtime \(petset-sim\)/);
  });

  it('splices port-forward upgrades to the pod IP, and refuses bad ports', async () => {
    const pod = await srv.client.pods('default').get('p');
    const server = net.createServer((s) => s.on('data', (d) => s.end(`pong:${d}`)));
    await new Promise<void>((r) => server.listen(0, pod.status!.podIP, r));
    const upgrade = (port: string) =>
      new Promise<{ status: number; socket?: net.Socket; body?: string }>((resolve, reject) => {
        const req = http.request({ host: base.host, port: base.port, method: 'POST', path: `/portForward/default/p?port=${port}`, headers: { Authorization: `Bearer ${TOKEN}`, Connection: 'Upgrade', Upgrade: 'tcp' } });
        req.on('upgrade', (res, socket) => resolve({ status: res.statusCode!, socket: socket as net.Socket }));
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const ok = await upgrade(String((server.address() as net.AddressInfo).port));
      assert.equal(ok.status, 101);
      const answer = await new Promise<string>((resolve) => {
        let a = '';
        ok.socket!.on('data', (d) => (a += d));
        ok.socket!.on('end', () => resolve(a));
        ok.socket!.write('ping');
      });
      assert.equal(answer, 'pong:ping');
      const bad = await upgrade('0');
      assert.equal(bad.status, 400);
      assert.equal(bad.body, 'invalid port "0"');
    } finally {
      server.close();
    }
  });
});
