// `petset dns`: the cluster DNS alone, against any API server (the kubeconfig's), as kubeadm's
// CoreDNS addon: it answers cluster.local from the API and keeps the kube-system/kube-dns
// Service (the tenth address of the service range) and its Endpoints pointing at itself, so
// pods on every machine reach it through the kube-dns cluster IP and their machine's proxy.
import net from 'node:net';
import path from 'node:path';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { SharedInformerFactory } from '../client/informer.js';
import { DnsServer, parseUpstream } from '../dns/server.js';
import { ensureKubeDnsService } from '../dns/service.js';
import { kubeDnsServiceIP, serviceRange } from '../apiserver/service-ips.js';
import { flag, flagInt, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';

export const DNS_USAGE = `Usage: petset dns [--kubeconfig FILE] [--address ADDR] [--port N] [--service-cluster-ip-range CIDR]

Serves the cluster DNS (cluster.local) from the API server named in the kubeconfig, UDP and
TCP, and keeps the kube-system/kube-dns Service and its Endpoints pointing here.
  --kubeconfig FILE  (default: $KUBECONFIG, else ~/.petset/kubeconfig)
  --address ADDR     where it listens: an address the machines of the cluster reach (default 127.0.0.1)
  --port N           0 picks a free one (default 53)
  --service-cluster-ip-range CIDR
                     the cluster's service range, as given to the API server; kube-dns takes
                     its tenth address (default 127.96.0.0/12)
  --upstream ADDR[:PORT][,...]|none
                     where names outside cluster.local go (default none: nothing leaves)
`;

export async function dnsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help']);
  if (flag(args, 'help')) {
    process.stdout.write(DNS_USAGE);
    return 0;
  }
  const kubeconfig = flag(args, 'kubeconfig') ?? process.env.KUBECONFIG ?? path.join(defaultDataDir(), 'kubeconfig');
  const host = flag(args, 'address') ?? '127.0.0.1';
  if (!net.isIP(host)) throw new Error(`--address must be an IP address of this machine (got "${host}")`);
  const port = flagInt(args, 'port', 53);
  const range = serviceRange(flag(args, 'service-cluster-ip-range'));
  const upstream = flag(args, 'upstream') ?? 'none';
  const upstreams = upstream === 'none' ? [] : upstream.split(',').map(parseUpstream);
  const client = new Client(fromKubeconfig(kubeconfig), { userAgent: 'petset-dns' });
  const informers = new SharedInformerFactory(client);
  const dns = await DnsServer.forCluster(informers, { host, port, upstreams });
  const clusterIP = kubeDnsServiceIP(range);
  // the API may not answer yet (started side by side): tried until it does
  for (let attempt = 0; ; attempt++) {
    try {
      await ensureKubeDnsService(client, clusterIP, dns.address);
      break;
    } catch (e) {
      if (attempt === 5) process.stderr.write(`petset dns: still trying to write the kube-dns Service: ${e instanceof Error ? e.message : String(e)}\n`);
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
    }
  }
  process.stdout.write(`petset dns: cluster DNS (cluster.local) at ${dns.address.host}:${dns.address.port}, the kube-dns Service at ${clusterIP}\n`);
  const stop = async () => {
    await dns.close();
    informers.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}
