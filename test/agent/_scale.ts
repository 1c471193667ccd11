// temporary scale check (not a test): N nodes, M pods each
import { startTestServer } from '../support/server.js';
import { Client } from '../../src/client/client.js';
const counts: Record<string, number> = {};
import { startNodeAgent, type NodeAgent } from '../../src/agent/agent.js';

const nodes = Number(process.argv[2] ?? 100);
const perNode = Number(process.argv[3] ?? 100);
const srv = await startTestServer();
const t0 = Date.now();
const agents: NodeAgent[] = [];
if (!process.env.NOAGENT) for (let i = 0; i < nodes; i++) agents.push(await startNodeAgent({ client: new Client({ request: (r) => { const k = r.method + ' ' + r.path.replace(/\/p\d+/, '/P').replace(/\/n\d+/, '/N'); counts[k] = (counts[k] ?? 0) + 1; return srv.client.transport.request(r); } }), statusBatchMs: Number(process.env.BATCH ?? 0), nodeName: `n${i}`, nodeIndex: i, events: process.env.EVENTS === '1' }));
console.log(`agents up in ${Date.now() - t0} ms`);
const t1 = Date.now();
const pods = srv.client.pods('default');
const creates: Promise<unknown>[] = [];
for (let i = 0; i < nodes * perNode; i++) {
  creates.push(pods.create({ metadata: { name: `p${i}` }, spec: { nodeName: `n${i % nodes}`, containers: [{ name: 'app', image: 'nginx', readinessProbe: { exec: { command: ['true'] }, periodSeconds: 10 } }] } }));
  if (creates.length >= 200) await Promise.all(creates.splice(0));
}
await Promise.all(creates);
console.log(`created ${nodes * perNode} pods in ${Date.now() - t1} ms`);
for (;!process.env.NOAGENT;) {
  const list = await pods.list();
  const ready = list.items.filter((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
  console.log(`${Date.now() - t1} ms: ${ready} ready, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
  if (ready === nodes * perNode) break;
  await new Promise((r) => setTimeout(r, 2000));
}
console.log(`all ready after ${Date.now() - t1} ms`);
console.log(counts);
const cpu0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, 10000));
const cpu = process.cpuUsage(cpu0);
console.log(`steady state: ${((cpu.user + cpu.system) / 1e4 / 10).toFixed(1)}% cpu over 10 s`);
for (const a of agents) await a.stop();
await srv.stop();
process.exit(0);
