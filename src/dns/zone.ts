// Kubernetes DNS-based service discovery (schema 1.1.0) as a pure function: a question and
// a read-only view of services and endpoints in, the answer sections out. No I/O here, so
// every rule of the specification is tested with plain objects.
import type { KubeObject } from '../api/object.js';

export const DNS_SCHEMA_VERSION = '1.1.0';
/** CoreDNS' default for cluster names: short, so a replaced pet's new address is seen at once. */
export const DEFAULT_TTL = 5;

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' | 'TXT' | 'SOA' | 'NS' | 'ANY' | string;

export interface ResourceRecord {
  name: string;
  type: 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' | 'TXT' | 'SOA';
  ttl: number;
  data: any;
}

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: ResourceRecord[];
  additionals: ResourceRecord[];
  /** the zone's SOA for negative answers (NXDOMAIN and NODATA) */
  authorities: ResourceRecord[];
}

/** What the resolver reads; implemented over informers by ClusterView. */
export interface DnsView {
  service(namespace: string, name: string): KubeObject | undefined;
  endpoints(namespace: string, name: string): KubeObject | undefined;
  namespaceExists(namespace: string): boolean;
  /** names whose A/AAAA record holds this IP (service cluster IPs, headless endpoints with a hostname) */
  namesForIP(ip: string): string[];
  /** changes whenever any answer may change (answers are cached per generation when present) */
  readonly generation?: number;
}

export interface ZoneOptions {
  /** the cluster domain, without a trailing dot */
  zone: string;
  ttl: number;
}

export const defaultZoneOptions: ZoneOptions = { zone: 'cluster.local', ttl: DEFAULT_TTL };

/** One address behind a service, as DNS sees it. */
export interface DnsEndpoint {
  ip: string;
  /** hostname from the endpoint, or the dashed IP (CoreDNS' choice) when it has none */
  label: string;
  hasHostname: boolean;
}

export interface DnsPort {
  name?: string;
  port: number;
  protocol: string;
}

const isIPv6 = (ip: string) => ip.includes(':');
const addressType = (ip: string): 'A' | 'AAAA' => (isIPv6(ip) ? 'AAAA' : 'A');
export const dashedIP = (ip: string) => (isIPv6(ip) ? ip.replace(/:/g, '-') : ip.replace(/\./g, '-'));

export function isHeadless(svc: KubeObject): boolean {
  return svc.spec?.clusterIP === 'None';
}

export function clusterIPs(svc: KubeObject): string[] {
  const ips = Array.isArray(svc.spec?.clusterIPs) ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip: unknown) => typeof ip === 'string' && ip && ip !== 'None');
}

/** The ready endpoints of a service (all of them when it publishes not-ready addresses). */
export function readyEndpoints(svc: KubeObject, ep: KubeObject | undefined): DnsEndpoint[] {
  if (!ep || !Array.isArray(ep.subsets)) return [];
  const publishAll = svc.spec?.publishNotReadyAddresses === true;
  const seen = new Set<string>();
  const out: DnsEndpoint[] = [];
  for (const subset of ep.subsets) {
    const addrs = [...(Array.isArray(subset?.addresses) ? subset.addresses : []), ...(publishAll && Array.isArray(subset?.notReadyAddresses) ? subset.notReadyAddresses : [])];
    for (const a of addrs) {
      if (typeof a?.ip !== 'string' || !a.ip) continue;
      const hasHostname = typeof a.hostname === 'string' && a.hostname !== '';
      const label = hasHostname ? a.hostname.toLowerCase() : dashedIP(a.ip);
      const key = `${label}/${a.ip}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ip: a.ip, label, hasHostname });
    }
  }
  return out;
}

export function servicePorts(svc: KubeObject, ep: KubeObject | undefined): DnsPort[] {
  // Headless services answer with the endpoints' ports (the target ports); others with the service's.
  const source = isHeadless(svc) && ep && Array.isArray(ep.subsets) ? ep.subsets.flatMap((s: any) => (Array.isArray(s?.ports) ? s.ports : [])) : Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  const seen = new Set<string>();
  const out: DnsPort[] = [];
  for (const p of source) {
    if (typeof p?.port !== 'number') continue;
    const port: DnsPort = { name: typeof p.name === 'string' && p.name ? p.name.toLowerCase() : undefined, port: p.port, protocol: String(p.protocol ?? 'TCP').toLowerCase() };
    const key = `${port.name}/${port.port}/${port.protocol}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(port);
    }
  }
  return out;
}

/** Answers one question about the cluster zone (names outside it are not this function's). */
export function resolveInZone(qname: string, qtype: RecordType, view: DnsView, opts: ZoneOptions = defaultZoneOptions): ZoneAnswer {
  const name = qname.toLowerCase().replace(/\.$/, '');
  const zone = opts.zone.toLowerCase();
  const ttl = opts.ttl;
  const soa: ResourceRecord = {
    name: zone,
    type: 'SOA',
    ttl,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
  const nxdomain = (): ZoneAnswer => ({ rcode: 'NXDOMAIN', answers: [], additionals: [], authorities: [soa] });
  const nodata = (): ZoneAnswer => ({ rcode: 'NOERROR', answers: [], additionals: [], authorities: [soa] });
  const ok = (answers: ResourceRecord[], additionals: ResourceRecord[] = []): ZoneAnswer =>
    answers.length ? { rcode: 'NOERROR', answers, additionals, authorities: [] } : nodata();
  const wants = (t: string) => qtype === t || qtype === 'ANY';

  if (name === zone) {
    if (wants('SOA')) return ok([soa]);
    return nodata();
  }
  if (!name.endsWith(`.${zone}`)) return nxdomain();
  const labels = name.slice(0, -(zone.length + 1)).split('.');

  if (labels.length === 1 && labels[0] === 'dns-version') {
    return wants('TXT') ? ok([{ name, type: 'TXT', ttl, data: [DNS_SCHEMA_VERSION] }]) : nodata();
  }

  const kindLabel = labels[labels.length - 1];
  if (kindLabel === 'pod') {
    // <a-b-c-d>.<ns>.pod.<zone> (kubeadm's "pods insecure": the name is the address)
    if (labels.length === 1) return nodata();
    if (labels.length === 2) return view.namespaceExists(labels[0]) ? nodata() : nxdomain();
    if (labels.length !== 3) return nxdomain();
    const ip = podLabelToIP(labels[0]);
    if (!ip) return nxdomain();
    const t = addressType(ip);
    return wants(t) ? ok([{ name, type: t, ttl, data: ip }]) : nodata();
  }
  if (kindLabel !== 'svc') return nxdomain();
  if (labels.length === 1) return nodata();
  const ns = labels[labels.length - 2];
  if (labels.length === 2) return view.namespaceExists(ns) ? nodata() : nxdomain();
  const svcName = labels[labels.length - 3];
  const svc = view.service(ns, svcName);
  if (!svc) return nxdomain();
  const svcFqdn = `${svcName}.${ns}.svc.${zone}`;
  const ep = view.endpoints(ns, svcName);
  const rest = labels.slice(0, -3);

  if (svc.spec?.type === 'ExternalName') {
    if (rest.length) return nxdomain();
    const target = String(svc.spec.externalName ?? '').replace(/\.$/, '');
    return target ? ok([{ name, type: 'CNAME', ttl, data: target }]) : nodata();
  }

  const headless = isHeadless(svc);
  const endpoints = headless ? readyEndpoints(svc, ep) : [];
  const ports = servicePorts(svc, ep);
  const addressRecords = (owner: string, ips: string[]) =>
    ips.filter((ip) => wants(addressType(ip))).map((ip): ResourceRecord => ({ name: owner, type: addressType(ip), ttl, data: ip }));

  if (rest.length === 0) {
    if (headless) {
      // A headless service with no ready endpoint does not exist in DNS (spec: NXDOMAIN).
      if (!endpoints.length) return nxdomain();
      const answers = addressRecords(name, endpoints.map((e) => e.ip));
      if (wants('SRV')) {
        // The seeds' bare-name SRV query: one record per endpoint and port, the A records in ADDITIONAL.
        const srv = srvForEndpoints(name, svcFqdn, endpoints, ports, ttl);
        return ok([...answers, ...srv.answers], srv.additionals);
      }
      return ok(answers);
    }
    const ips = clusterIPs(svc);
    const answers = addressRecords(name, ips);
    if (wants('SRV')) {
      const srv = ports.map((p): ResourceRecord => ({ name, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: svcFqdn } }));
      const additionals = srv.length ? ips.map((ip): ResourceRecord => ({ name: svcFqdn, type: addressType(ip), ttl, data: ip })) : [];
      return ok([...answers, ...srv], additionals);
    }
    return ok(answers);
  }

  if (rest.length === 2 && rest[0].startsWith('_') && rest[1].startsWith('_')) {
    // _<port>._<proto>.<svc>.<ns>.svc.<zone>: named ports only.
    const portName = rest[0].slice(1);
    const proto = rest[1].slice(1);
    const matching = ports.filter((p) => p.name && p.name === portName && p.protocol === proto);
    if (!matching.length) return nxdomain();
    if (!wants('SRV')) return nodata();
    if (headless) {
      if (!endpoints.length) return nxdomain();
      const srv = srvForEndpoints(name, svcFqdn, endpoints, matching, ttl);
      return ok(srv.answers, srv.additionals);
    }
    const ips = clusterIPs(svc);
    const answers = matching.map((p): ResourceRecord => ({ name, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: svcFqdn } }));
    return ok(answers, ips.map((ip) => ({ name: svcFqdn, type: addressType(ip), ttl, data: ip })));
  }

  if (rest.length === 1 && headless) {
    // <hostname>.<svc>.<ns>.svc.<zone>: one pet (or the dashed IP of an endpoint without a hostname)
    const mine = endpoints.filter((e) => e.label === rest[0]);
    if (!mine.length) return nxdomain();
    return ok(addressRecords(name, mine.map((e) => e.ip)));
  }
  return nxdomain();
}

function srvForEndpoints(qname: string, svcFqdn: string, endpoints: DnsEndpoint[], ports: DnsPort[], ttl: number): { answers: ResourceRecord[]; additionals: ResourceRecord[] } {
  const answers: ResourceRecord[] = [];
  const additionals: ResourceRecord[] = [];
  const weight = endpoints.length ? Math.max(1, Math.floor(100 / endpoints.length)) : 100;
  const added = new Set<string>();
  for (const e of endpoints) {
    const target = `${e.label}.${svcFqdn}`;
    for (const p of ports) answers.push({ name: qname, type: 'SRV', ttl, data: { priority: 0, weight, port: p.port, target } });
    if (ports.length && !added.has(`${target}/${e.ip}`)) {
      added.add(`${target}/${e.ip}`);
      additionals.push({ name: target, type: addressType(e.ip), ttl, data: e.ip });
    }
  }
  return { answers, additionals };
}

/** "10-244-0-5" → "10.244.0.5"; IPv6 "fd00--1" → "fd00::1"; anything else → undefined. */
export function podLabelToIP(label: string): string | undefined {
  const v4 = label.split('-');
  if (v4.length === 4 && v4.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return v4.join('.');
  if (label.includes('--') || v4.length > 4) {
    const v6 = label.replace(/-/g, ':');
    if (/^[0-9a-f:]+$/.test(v6) && v6.split(':').length <= 8) return v6;
  }
  return undefined;
}

/** "5.0.244.10.in-addr.arpa" → "10.244.0.5"; ip6.arpa nibbles → the full IPv6 address. */
export function reverseNameToIP(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().map(Number).join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
    return groups.join(':');
  }
  return undefined;
}

/** Expands an IPv6 address to the same 8-group form reverseNameToIP produces. */
export function canonicalIP(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/** PTR answers for a reverse name, from the view's IP index. */
export function resolveReverse(qname: string, qtype: RecordType, view: DnsView, opts: ZoneOptions = defaultZoneOptions): ZoneAnswer | undefined {
  const ip = reverseNameToIP(qname);
  if (!ip) return undefined;
  const names = view.namesForIP(canonicalIP(ip));
  if (!names.length) return undefined;
  const name = qname.replace(/\.$/, '');
  if (qtype !== 'PTR' && qtype !== 'ANY') return { rcode: 'NOERROR', answers: [], additionals: [], authorities: [] };
  return { rcode: 'NOERROR', answers: names.map((n) => ({ name, type: 'PTR', ttl: opts.ttl, data: n })), additionals: [], authorities: [] };
}

/** Every PTR target of a service: its cluster IPs, or its ready endpoints that have a hostname. */
export function reverseEntries(svc: KubeObject, ep: KubeObject | undefined, zone: string): Array<{ ip: string; name: string }> {
  const ns = svc.metadata.namespace;
  const fqdn = `${svc.metadata.name}.${ns}.svc.${zone}`;
  if (svc.spec?.type === 'ExternalName') return [];
  if (!isHeadless(svc)) return clusterIPs(svc).map((ip) => ({ ip: canonicalIP(ip), name: fqdn }));
  return readyEndpoints(svc, ep)
    .filter((e) => e.hasHostname)
    .map((e) => ({ ip: canonicalIP(e.ip), name: `${e.label}.${fqdn}` }));
}
