// The cluster DNS server: real DNS packets over UDP and TCP (RFC 1035 framing, EDNS0 buffer
// sizes, truncation), answering the cluster zone from the API's services and endpoints and
// passing other names to upstream resolvers when any are configured.
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import * as dnsPacket from 'dns-packet';
import type { SharedInformerFactory } from '../client/informer.js';
import { ClusterView } from './cluster-view.js';
import { defaultZoneOptions, resolveInZone, resolveReverse, type DnsView, type ZoneAnswer, type ZoneOptions } from './zone.js';

export interface Upstream {
  host: string;
  port: number;
}

export interface DnsServerOptions extends Partial<ZoneOptions> {
  host?: string;
  /** 0 picks a free port (the same number for UDP and TCP) */
  port?: number;
  /** where names outside the cluster zone go; none answers them REFUSED */
  upstreams?: Upstream[];
  /** per forwarded query */
  upstreamTimeoutMs?: number;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const MAX_UDP_NO_EDNS = 512;
const MAX_UDP = 4096;
/** a DNS message over TCP is framed by a two-byte length */
const MAX_TCP = 65535;
/** a TCP client must send its query within this time */
const TCP_IDLE_MS = 10_000;

export interface DnsStats {
  queries: number;
  forwarded: number;
  nxdomain: number;
  errors: number;
}

/**
 * Picks the upstream resolvers from resolv.conf. Only loopback resolvers are taken by
 * default (systemd-resolved's 127.0.0.53, a local dnsmasq): petset never sends a packet off
 * the machine on its own; a user who wants that names the resolver with --dns-upstream.
 */
export function loopbackResolvers(resolvConf = '/etc/resolv.conf'): Upstream[] {
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch {
    return [];
  }
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && (m[1].startsWith('127.') || m[1] === '::1')) out.push({ host: m[1], port: 53 });
  }
  return out;
}

/** "IP", "IP:PORT" or "[IPv6]:PORT" → an upstream. */
export function parseUpstream(text: string): Upstream {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : 53 };
  const parts = text.split(':');
  if (parts.length === 2) return { host: parts[0], port: Number(parts[1]) };
  return { host: text, port: 53 };
}

export class DnsServer {
  readonly stats: DnsStats = { queries: 0, forwarded: 0, nxdomain: 0, errors: 0 };
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly tcpSockets = new Set<net.Socket>();
  private readonly zoneOptions: ZoneOptions;
  private boundPort = 0;
  /** encoded cluster answers of the current view generation, keyed by question and format */
  private cache = new Map<string, Buffer>();
  private cacheGeneration = -1;

  constructor(
    private readonly view: DnsView,
    private readonly options: DnsServerOptions = {},
  ) {
    this.zoneOptions = { zone: options.zone ?? defaultZoneOptions.zone, ttl: options.ttl ?? defaultZoneOptions.ttl };
  }

  /** A server over a shared informer factory; resolves once its caches have synced. */
  static async forCluster(informers: SharedInformerFactory, options: DnsServerOptions = {}): Promise<DnsServer> {
    const view = new ClusterView(informers, options.zone ?? defaultZoneOptions.zone);
    informers.start();
    await view.synced();
    const server = new DnsServer(view, options);
    await server.listen();
    return server;
  }

  get address(): { host: string; port: number } {
    return { host: this.options.host ?? '127.0.0.1', port: this.boundPort };
  }

  async listen(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    const family = net.isIPv6(host) ? 'udp6' : 'udp4';
    // With port 0 the UDP port is chosen first and TCP takes the same number; retry if taken.
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family, reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.options.port ?? 0, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer((sock) => this.onTcp(sock));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && !this.options.port && attempt < 20) continue;
        throw e;
      }
      udp.on('message', (msg, rinfo) => void this.onUdp(msg, rinfo));
      udp.on('error', () => {});
      this.udp = udp;
      this.tcp = tcp;
      this.boundPort = port;
      return;
    }
  }

  async close(): Promise<void> {
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }

  private async onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const reply = await this.answer(msg, 'udp');
    if (reply && this.udp) this.udp.send(reply, rinfo.port, rinfo.address);
  }

  private onTcp(sock: net.Socket): void {
    this.tcpSockets.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => this.tcpSockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.answer(msg, 'tcp').then((reply) => {
          if (!reply || sock.destroyed) return;
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          sock.write(framed);
        });
      }
    });
  }

  /** One query in, one encoded reply out (undefined: not even a header to answer). */
  async answer(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    this.stats.queries++;
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      this.stats.errors++;
      if (msg.length < 12) return undefined;
      // Echo the id with FORMERR, as a server does for a packet it cannot parse.
      const reply = Buffer.alloc(12);
      msg.copy(reply, 0, 0, 2);
      reply.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | RCODE.FORMERR, 2);
      return reply;
    }
    const question = query.questions?.[0];
    const rd = ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0;
    const opt = (query.additionals ?? []).find((r: any) => r.type === 'OPT') as any;
    const base = (rcode: number, extra: Partial<dnsPacket.Packet> = {}) => this.response(query, rd, opt, rcode, extra);
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (query.type !== 'query' || !question) return this.encode(base(RCODE.FORMERR), transport, opt);
    if (opcode !== 0) return this.encode(base(RCODE.NOTIMP), transport, opt);

    // The same question at the same view generation gets the same bytes: only the id differs.
    const generation = this.view.generation;
    const cacheKey = generation === undefined ? undefined : `${question.name.toLowerCase()}|${question.type}|${transport}|${rd ? 1 : 0}|${opt ? Number(opt.udpPayloadSize) || 0 : -1}`;
    if (cacheKey !== undefined) {
      if (this.cacheGeneration !== generation) {
        this.cache.clear();
        this.cachedNames.clear();
        this.cacheGeneration = generation!;
      }
      const hit = this.cache.get(cacheKey);
      if (hit) {
        const reply = Buffer.from(hit);
        reply.writeUInt16BE(query.id ?? 0, 0);
        // echo the question's case as asked (0x20 bit randomisation)
        return question.name === this.cachedNames.get(cacheKey) ? reply : this.encodeZone(query, question, rd, opt, transport, cacheKey);
      }
    }
    return this.encodeZone(query, question, rd, opt, transport, cacheKey);
  }

  private readonly cachedNames = new Map<string, string>();

  private async encodeZone(query: dnsPacket.Packet, question: dnsPacket.Question, rd: boolean, opt: any, transport: 'udp' | 'tcp', cacheKey: string | undefined): Promise<Buffer> {
    const base = (rcode: number, extra: Partial<dnsPacket.Packet> = {}) => this.response(query, rd, opt, rcode, extra);
    const zoneAnswer = this.resolveLocal(question.name, String(question.type));
    if (!zoneAnswer) {
      const upstreams = this.upstreams();
      if (!upstreams.length) return this.encode(base(RCODE.REFUSED), transport, opt);
      this.stats.forwarded++;
      const forwarded = await this.forward(dnsPacket.encode(query), upstreams);
      return forwarded ?? this.encode(base(RCODE.SERVFAIL), transport, opt);
    }
    if (zoneAnswer.rcode === 'NXDOMAIN') this.stats.nxdomain++;
    const packet = base(RCODE[zoneAnswer.rcode], {
      answers: zoneAnswer.answers as any,
      authorities: zoneAnswer.authorities as any,
    });
    packet.flags! |= dnsPacket.AUTHORITATIVE_ANSWER;
    packet.additionals = [...(zoneAnswer.additionals as any), ...(packet.additionals ?? [])];
    const reply = this.encode(packet, transport, opt);
    if (cacheKey !== undefined && this.cacheGeneration === this.view.generation) {
      if (this.cache.size > 10_000) {
        this.cache.clear();
        this.cachedNames.clear();
      }
      this.cache.set(cacheKey, reply);
      this.cachedNames.set(cacheKey, question.name);
    }
    return reply;
  }

  /** A response to the query with its id, question, RD echoed and EDNS when asked. */
  private response(query: dnsPacket.Packet, rd: boolean, opt: any, rcode: number, extra: Partial<dnsPacket.Packet> = {}): dnsPacket.Packet {
    return {
      id: query.id,
      type: 'response',
      flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | (this.upstreams().length ? dnsPacket.RECURSION_AVAILABLE : 0) | rcode,
      questions: query.questions ?? [],
      answers: [],
      authorities: [],
      additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP, flags: 0 } as any] : [],
      ...extra,
    };
  }

  private resolveLocal(name: string, type: string): ZoneAnswer | undefined {
    const n = name.toLowerCase().replace(/\.$/, '');
    const zone = this.zoneOptions.zone.toLowerCase();
    if (n === zone || n.endsWith(`.${zone}`)) return resolveInZone(n, type, this.view, this.zoneOptions);
    if (n.endsWith('.in-addr.arpa') || n.endsWith('.ip6.arpa')) return resolveReverse(n, type, this.view, this.zoneOptions);
    return undefined;
  }

  private encode(packet: dnsPacket.Packet, transport: 'udp' | 'tcp', opt: any): Buffer {
    const buf = dnsPacket.encode(packet);
    if (transport === 'tcp') return buf.length <= MAX_TCP ? buf : this.fitTcp(packet);
    const limit = opt ? Math.max(MAX_UDP_NO_EDNS, Math.min(MAX_UDP, Number(opt.udpPayloadSize) || MAX_UDP_NO_EDNS)) : MAX_UDP_NO_EDNS;
    if (buf.length <= limit) return buf;
    // Too big for the client's buffer: send the header with TC so it retries over TCP.
    return dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: (packet.additionals ?? []).filter((r: any) => r.type === 'OPT') });
  }

  /**
   * A TCP message carries at most 64 KiB (its length is two bytes; a thousand pets' SRV answer
   * is more): the additional records go first (RFC 2181 §9: no TC for those), then answers,
   * with TC set, until it fits.
   */
  private fitTcp(packet: dnsPacket.Packet): Buffer {
    const additionals = (packet.additionals ?? []).filter((r: any) => r.type === 'OPT');
    let out = dnsPacket.encode({ ...packet, additionals });
    let answers = packet.answers ?? [];
    while (out.length > MAX_TCP && answers.length) {
      answers = answers.slice(0, Math.floor(answers.length * 0.9));
      out = dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers, authorities: [], additionals });
    }
    return out;
  }

  private upstreams(): Upstream[] {
    return this.options.upstreams ?? [];
  }

  private forward(msg: Buffer, upstreams: Upstream[]): Promise<Buffer | undefined> {
    const timeoutMs = this.options.upstreamTimeoutMs ?? 2000;
    const tryOne = (u: Upstream) =>
      new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket(net.isIPv6(u.host) ? 'udp6' : 'udp4');
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const done = (v: Buffer | undefined) => {
          clearTimeout(timer);
          sock.close();
          resolve(v);
        };
        sock.on('error', () => done(undefined));
        sock.on('message', (reply) => done(reply));
        sock.send(msg, u.port, u.host);
      });
    return (async () => {
      for (const u of upstreams) {
        const r = await tryOne(u);
        if (r) return r;
      }
      return undefined;
    })();
  }
}
