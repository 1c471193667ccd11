// The service proxy: a client of the API like kube-proxy, serving every Service's cluster IP,
// node ports and load balancer address in user space. A TCP connection or UDP flow to a
// frontend is relayed to one ready endpoint (round robin, or sticky per client IP); a backend
// that refuses is skipped for the next one. Changes to services and endpoints take effect at
// once: new frontends open, gone ones close, backends are swapped in place. Where NetworkPolicy
// is enforced, each connection is first judged for its real client address (options.admit).
import dgram from 'node:dgram';
import net from 'node:net';
import type { KubeObject } from '../api/object.js';
import { resources, type Client } from '../client/client.js';
import type { Informer, SharedInformerFactory } from '../client/informer.js';
import { SERVICE_NAME_LABEL } from '../api/kinds/endpointslice.js';
import { endpointsFromSlices } from './endpoint-slices.js';
import { Balancer, frontends, type Backend, type Frontend, type ProxyRuleOptions } from './rules.js';

const UDP_IDLE_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** how long a connection NetworkPolicy drops is held before it is reset (a dropped SYN's client gives up after about as long) */
const DROPPED_HOLD_MS = 120_000;

interface Listener {
  frontend: Frontend;
  balancer: Balancer;
  close(): void;
}

export interface ProxyOptions extends ProxyRuleOptions {
  /** write status.loadBalancer for LoadBalancer services (default true) */
  loadBalancerStatus?: boolean;
  log?: (line: string) => void;
  /**
   * Whether a connection from `client` (the address the proxy accepted it from) may be relayed
   * to `backend` (NetworkPolicy in the root pod network). A refused one is dropped, as the
   * backend's own rules would drop it after kube-proxy's DNAT: the client gets no answer.
   */
  admit?: (client: string, backend: Backend, protocol: 'TCP' | 'UDP') => boolean;
  /** read backends from EndpointSlices instead of Endpoints (a proxy with a node's credential, as upstream's kube-proxy reads them) */
  endpointSlices?: boolean;
}

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();
  /** frontends that could not be opened, with why (retried on every change) */
  readonly failed = new Map<string, string>();
  private services!: Informer;
  private endpoints!: Informer;
  private scheduled = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly warned = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly options: ProxyOptions = {},
  ) {}

  async start(informers: SharedInformerFactory): Promise<void> {
    this.services = informers.informerFor(resources.services);
    this.endpoints = informers.informerFor(this.options.endpointSlices ? resources.endpointSlices : resources.endpoints);
    const kick = () => this.schedule();
    for (const inf of [this.services, this.endpoints]) inf.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    informers.start();
    await Promise.all([this.services.synced(), this.endpoints.synced()]);
    await this.sync();
  }

  /** The frontends currently served, by key. */
  serving(): string[] {
    return [...this.listeners.keys()].sort();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.sync();
    });
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    const slicesOf = this.options.endpointSlices ? slicesByService(this.endpoints.list()) : undefined;
    const want = frontends(this.services.list(), (ns, name) => (slicesOf ? endpointsFromSlices(slicesOf.get(`${ns}/${name}`) ?? []) : this.endpoints.get(`${ns}/${name}`)), this.options);
    const wanted = new Map(want.map((f) => [f.key, f]));
    for (const [key, l] of this.listeners) {
      if (!wanted.has(key)) {
        l.close();
        this.listeners.delete(key);
      }
    }
    for (const f of want) {
      const existing = this.listeners.get(f.key);
      if (existing) {
        existing.frontend = f; // backends and affinity swap in place; open connections keep theirs
        continue;
      }
      try {
        this.listeners.set(f.key, await this.open(f));
        this.failed.delete(f.key);
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        this.failed.set(f.key, why);
        if (!this.warned.has(f.key)) {
          this.warned.add(f.key);
          this.log(`cannot serve ${f.service} at ${f.key}: ${explain(why, f)}`);
        }
      }
    }
    for (const key of this.failed.keys()) if (!wanted.has(key)) this.failed.delete(key);
    clearTimeout(this.retryTimer);
    if (this.failed.size && !this.stopped) this.retryTimer = setTimeout(() => this.schedule(), 5000);
    if (this.options.loadBalancerStatus !== false) await this.writeLoadBalancerStatus();
  }

  /**
   * A LoadBalancer service gets its cluster IP as ingress address, reachable from the host,
   * as the local load balancers of kind and k3d hand out addresses: users' cloud manifests
   * do not sit <pending> forever.
   */
  private async writeLoadBalancerStatus(): Promise<void> {
    for (const svc of this.services.list()) {
      if (svc.spec?.type !== 'LoadBalancer' || !svc.spec.clusterIP || svc.spec.clusterIP === 'None') continue;
      const ingress = svc.status?.loadBalancer?.ingress;
      if (Array.isArray(ingress) && ingress.length) continue;
      await this.client
        .services(svc.metadata.namespace!)
        .patch(svc.metadata.name!, { status: { loadBalancer: { ingress: [{ ip: svc.spec.clusterIP, ipMode: 'VIP' }] } } }, 'merge', { subresource: 'status' })
        .catch((e: unknown) => this.log(`load balancer status of ${svc.metadata.namespace}/${svc.metadata.name}: ${(e as Error).message}`));
    }
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => console.warn(`[proxy] ${l}`)))(line);
  }

  private open(f: Frontend): Promise<Listener> {
    return f.protocol === 'UDP' ? this.openUdp(f) : this.openTcp(f);
  }

  private openTcp(f: Frontend): Promise<Listener> {
    const listener: Listener = { frontend: f, balancer: new Balancer(), close: () => {} };
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      client.pause();
      this.relayTcp(listener, client, new Set(), sockets);
    });
    listener.close = () => {
      server.close();
      for (const s of sockets) s.destroy();
    };
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(f.port, f.ip, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log(`${f.key}: ${(e as Error).message}`));
        resolve(listener);
      });
    });
  }

  private relayTcp(listener: Listener, client: net.Socket, tried: Set<string>, sockets: Set<net.Socket>): void {
    const backend = listener.balancer.pick(listener.frontend, client.remoteAddress ?? '', Date.now(), tried);
    if (!backend) {
      // no ready endpoint: refuse, as kube-proxy's REJECT does
      client.resetAndDestroy();
      return;
    }
    if (this.options.admit && !this.options.admit(client.remoteAddress ?? '', backend, 'TCP')) {
      // dropped: nothing reaches the backend and nothing comes back (the client stays paused)
      const timer = setTimeout(() => client.resetAndDestroy(), DROPPED_HOLD_MS);
      client.on('close', () => clearTimeout(timer));
      return;
    }
    const upstream = net.connect({ host: backend.ip, port: backend.port, allowHalfOpen: true });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error('connect timeout')));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) {
        // try the next backend for this connection
        tried.add(`${backend.ip}:${backend.port}`);
        upstream.destroy();
        if (!client.destroyed) this.relayTcp(listener, client, tried, sockets);
        return;
      }
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  }

  private openUdp(f: Frontend): Promise<Listener> {
    const listener: Listener = { frontend: f, balancer: new Balancer(), close: () => {} };
    const sock = dgram.createSocket(net.isIPv6(f.ip) ? 'udp6' : 'udp4');
    const flows = new Map<string, { out: dgram.Socket; timer: NodeJS.Timeout; backend: Backend }>();
    // flows NetworkPolicy drops, until they have been idle as long as a relayed one would be
    const dropped = new Map<string, NodeJS.Timeout>();
    sock.on('message', (msg, rinfo) => {
      const id = `${rinfo.address}:${rinfo.port}`;
      const held = dropped.get(id);
      if (held) {
        held.refresh();
        return;
      }
      let flow = flows.get(id);
      if (!flow) {
        const backend = listener.balancer.pick(listener.frontend, rinfo.address);
        if (!backend) return;
        if (this.options.admit && !this.options.admit(rinfo.address, backend, 'UDP')) {
          dropped.set(id, setTimeout(() => dropped.delete(id), UDP_IDLE_MS));
          return;
        }
        const out = dgram.createSocket(net.isIPv6(backend.ip) ? 'udp6' : 'udp4');
        out.on('message', (reply) => {
          sock.send(reply, rinfo.port, rinfo.address);
          refresh();
        });
        out.on('error', () => end());
        const end = () => {
          const fl = flows.get(id);
          if (!fl) return;
          clearTimeout(fl.timer);
          flows.delete(id);
          fl.out.close();
        };
        const refresh = () => {
          const fl = flows.get(id);
          if (!fl) return;
          clearTimeout(fl.timer);
          fl.timer = setTimeout(end, UDP_IDLE_MS);
        };
        flow = { out, backend, timer: setTimeout(end, UDP_IDLE_MS) };
        flows.set(id, flow);
      }
      flow.out.send(msg, flow.backend.port, flow.backend.ip);
    });
    listener.close = () => {
      for (const fl of flows.values()) {
        clearTimeout(fl.timer);
        fl.out.close();
      }
      flows.clear();
      for (const t of dropped.values()) clearTimeout(t);
      dropped.clear();
      sock.close();
    };
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(f.port, f.ip, () => {
        sock.off('error', reject);
        sock.on('error', () => {});
        resolve(listener);
      });
    });
  }
}

function explain(code: string, f: Frontend): string {
  if (code === 'EADDRINUSE') return `the address is in use (another petset on this machine, or a host program); give this petset its own --service-cluster-ip-range`;
  if (code === 'EACCES') return `ports below 1024 need root (or CAP_NET_BIND_SERVICE) to serve ${f.port}`;
  if (code === 'EADDRNOTAVAIL') return `${f.ip} is not an address of this machine`;
  return code;
}


/** The slices of each service, by namespace/name. */
function slicesByService(slices: KubeObject[]): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata.namespace ?? 'default'}/${svc}`;
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  return out;
}
