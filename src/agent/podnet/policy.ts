// NetworkPolicy as nftables rules inside one pod's network namespace (pure): which packets
// may come in (ingress) and go out (egress) of the pod. A pod selected by no policy of a
// direction is not isolated in it; once selected, only what some selecting policy's rules
// allow passes, plus answers to allowed connections (conntrack), the pod's own loopback, the
// host (probes, the API server's proxies, the service proxy's relayed connections) and, on
// the way out, the service range (Services and cluster DNS are served by the host's proxy).
import type { KubeObject } from '../../api/object.js';
import { labelSelectorFromObject, type LabelSelectorObject } from '../../api/selectors.js';
import { contains, parseCidr } from './cidr.js';

type Obj = Record<string, any>;

/** the nftables table petset keeps in each pod's namespace */
export const POLICY_TABLE = 'petset_policy';

export interface PolicyWorld {
  pods: readonly KubeObject[];
  namespaces: readonly KubeObject[];
  policies: readonly KubeObject[];
  /** Services: an egress-isolated pod reaches a cluster IP port when a backend pod would be allowed */
  services?: readonly KubeObject[];
}

export interface PolicyTarget {
  pod: KubeObject;
  ip: string;
}

export interface PolicyContext {
  /** the host's addresses on the bridge: always allowed in */
  hostAddresses: readonly string[];
  /** services' cluster IPs (the host's proxy serves them) */
  serviceCidr: string;
}

type Direction = 'Ingress' | 'Egress';

/** upstream's defaulting: Ingress always, Egress when the policy has egress rules */
export function policyTypes(policy: KubeObject): Direction[] {
  const given = policy.spec?.policyTypes;
  if (Array.isArray(given) && given.length) return given.filter((t: string): t is Direction => t === 'Ingress' || t === 'Egress');
  return Array.isArray(policy.spec?.egress) && policy.spec.egress.length ? ['Ingress', 'Egress'] : ['Ingress'];
}

const selects = (sel: LabelSelectorObject | undefined, labels: Record<string, string> | undefined) => labelSelectorFromObject(sel ?? {}).matches(labels ?? {});

/** The policies of the pod's namespace whose podSelector selects it. */
export function selectingPolicies(pod: KubeObject, policies: readonly KubeObject[]): KubeObject[] {
  return policies.filter((p) => p.metadata.namespace === pod.metadata.namespace && !p.metadata.deletionTimestamp && selects(p.spec?.podSelector, pod.metadata.labels));
}

const isLive = (p: KubeObject) => !!p.status?.podIP && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** The pods a peer with podSelector/namespaceSelector stands for (undefined for an ipBlock peer). */
function peerPods(peer: Obj, policy: KubeObject, world: PolicyWorld): KubeObject[] | undefined {
  if (!peer.podSelector && !peer.namespaceSelector) return undefined;
  const namespaces = peer.namespaceSelector
    ? new Set(world.namespaces.filter((n) => selects(peer.namespaceSelector, n.metadata.labels)).map((n) => n.metadata.name))
    : new Set([policy.metadata.namespace]);
  return world.pods.filter((p) => isLive(p) && namespaces.has(p.metadata.namespace) && selects(peer.podSelector, p.metadata.labels));
}

const PROTOCOLS: Record<string, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** A named port of a pod's containers, by name and protocol. */
function namedPort(pod: KubeObject, name: string, protocol: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** The port match of one NetworkPolicyPort; `owner` resolves a named port (undefined: no match at all). */
function portMatch(port: Obj, owner: KubeObject | undefined): string | undefined {
  const protocol = port.protocol ?? 'TCP';
  const l4 = PROTOCOLS[protocol];
  if (!l4) return undefined;
  if (port.port === undefined || port.port === null) return `meta l4proto ${l4}`;
  let n: number | undefined = typeof port.port === 'number' ? port.port : /^\d+$/.test(String(port.port)) ? Number(port.port) : undefined;
  if (n === undefined) n = owner ? namedPort(owner, String(port.port), protocol) : undefined;
  if (n === undefined) return undefined;
  return typeof port.endPort === 'number' && port.endPort > n ? `${l4} dport ${n}-${port.endPort}` : `${l4} dport ${n}`;
}

/** The accept lines of one rule (an ingress `from` or egress `to` list with its ports). */
function ruleLines(dir: Direction, rule: Obj, policy: KubeObject, target: PolicyTarget, world: PolicyWorld): string[] {
  const addr = dir === 'Ingress' ? 'saddr' : 'daddr';
  const peers: Obj[] | undefined = dir === 'Ingress' ? rule.from : rule.to;
  const ports: Obj[] = Array.isArray(rule.ports) ? rule.ports : [];
  // a named port is the target's own on the way in, the peer's on the way out
  const portsFor = (owner: KubeObject | undefined): string[] => (ports.length ? ports.map((p) => portMatch(p, owner)).filter((m): m is string => m !== undefined) : ['']);
  const out: string[] = [];
  const accept = (match: string, portList: string[]) => {
    for (const p of portList) out.push(`${[match, p].filter(Boolean).join(' ')} accept`);
  };
  if (!Array.isArray(peers) || peers.length === 0) {
    accept('', portsFor(dir === 'Ingress' ? target.pod : undefined));
    return out;
  }
  for (const peer of peers) {
    const pods = peerPods(peer, policy, world);
    if (pods) {
      if (dir === 'Ingress') {
        const ips = [...new Set(pods.map((p) => p.status.podIP as string))];
        if (ips.length) accept(`ip ${addr} { ${ips.join(', ')} }`, portsFor(target.pod));
      } else {
        for (const p of pods) accept(`ip ${addr} ${p.status.podIP}`, portsFor(p));
      }
    } else if (peer.ipBlock?.cidr && !String(peer.ipBlock.cidr).includes(':')) {
      const except: string[] = (peer.ipBlock.except ?? []).filter((e: string) => !e.includes(':'));
      accept(`ip ${addr} ${peer.ipBlock.cidr}${except.length ? ` ip ${addr} != { ${except.join(', ')} }` : ''}`, portsFor(dir === 'Ingress' ? target.pod : undefined));
    }
  }
  return out;
}

/**
 * Whether a rule's ports admit port/protocol; a named port is looked up on `namedIn` (the
 * target on the way in, the peer on the way out, as the pods' tables resolve it).
 */
function rulePortsAllow(rule: Obj, namedIn: KubeObject, port: number, protocol: string): boolean {
  const ports: Obj[] = Array.isArray(rule.ports) ? rule.ports : [];
  return (
    !ports.length ||
    ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined || p.port === null) return true;
      const n = typeof p.port === 'number' ? p.port : /^\d+$/.test(String(p.port)) ? Number(p.port) : namedPort(namedIn, String(p.port), protocol);
      return n !== undefined && (n === port || (typeof p.endPort === 'number' && port >= n && port <= p.endPort));
    })
  );
}

/** Whether a rule's peers (from or to) take in the pod `other` (if known) or the address `ip`; no peers: everyone. */
function rulePeersAllow(peers: unknown, policy: KubeObject, world: PolicyWorld, other: KubeObject | undefined, ip: string | undefined): boolean {
  if (!Array.isArray(peers) || !peers.length) return true;
  return peers.some((q: Obj) => {
    const pods = peerPods(q, policy, world);
    if (pods) return !!other && pods.some((p) => p.metadata.uid === other.metadata.uid);
    const cidr = q.ipBlock?.cidr;
    if (!cidr || String(cidr).includes(':')) return false;
    return inCidr(ip, cidr) && !(q.ipBlock.except ?? []).some((e: string) => inCidr(ip, e));
  });
}

/** Whether one egress rule lets `target` reach `peer` (a pod) on port/protocol. */
function egressRuleAllows(rule: Obj, policy: KubeObject, peer: KubeObject, port: number, protocol: string, world: PolicyWorld): boolean {
  return rulePortsAllow(rule, peer, port, protocol) && rulePeersAllow(rule.to, policy, world, peer, peer.status?.podIP);
}

function inCidr(ip: string | undefined, cidr: string): boolean {
  try {
    return !!ip && contains(parseCidr(cidr), ip);
  } catch {
    return false;
  }
}

/**
 * The cluster IP ports an egress-isolated pod may use. The host's proxy relays them, so the
 * pod's own rules decide: a service port is open when some isolating policy lets the pod reach
 * one of its backend pods on the target port. Services without a selector (the `kubernetes`
 * Service, the cluster DNS) lead to the host, not to pods: they stay reachable.
 */
function serviceLines(isolating: KubeObject[], world: PolicyWorld): string[] {
  const out: string[] = [];
  const hostServices: string[] = [];
  for (const svc of world.services ?? []) {
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP || clusterIP === 'None' || clusterIP.includes(':')) continue;
    const selector = svc.spec?.selector;
    if (!selector || !Object.keys(selector).length) {
      hostServices.push(clusterIP);
      continue;
    }
    const backends = world.pods.filter((p) => isLive(p) && p.metadata.namespace === svc.metadata.namespace && selects({ matchLabels: selector }, p.metadata.labels));
    for (const sp of svc.spec?.ports ?? []) {
      const protocol = sp.protocol ?? 'TCP';
      const l4 = PROTOCOLS[protocol];
      if (!l4) continue;
      const open = backends.some((b) => {
        const tp = sp.targetPort ?? sp.port;
        const port = typeof tp === 'number' ? tp : /^\d+$/.test(String(tp)) ? Number(tp) : namedPort(b, String(tp), protocol);
        if (port === undefined) return false;
        return isolating.some((policy) => ((policy.spec?.egress ?? []) as Obj[]).some((rule) => egressRuleAllows(rule ?? {}, policy, b, port, protocol, world)));
      });
      if (open) out.push(`ip daddr ${clusterIP} ${l4} dport ${sp.port} accept`);
    }
  }
  if (hostServices.length) out.unshift(`ip daddr { ${[...new Set(hostServices)].join(', ')} } accept`);
  return out;
}

/**
 * The nftables table for the pod's namespace, or undefined when no policy isolates it
 * (then nothing is filtered). Rules not allowed by any selecting policy are counted and dropped.
 */
export function podPolicyRules(target: PolicyTarget, world: PolicyWorld, ctx: PolicyContext): string | undefined {
  const selecting = selectingPolicies(target.pod, world.policies);
  const chains: string[] = [];
  for (const dir of ['Ingress', 'Egress'] as const) {
    const isolating = selecting.filter((p) => policyTypes(p).includes(dir));
    if (!isolating.length) continue;
    const hook = dir === 'Ingress' ? 'input' : 'output';
    const lines = [`type filter hook ${hook} priority 0; policy accept;`, 'ct state established,related accept', `${dir === 'Ingress' ? 'iifname' : 'oifname'} "lo" accept`];
    if (dir === 'Ingress' && ctx.hostAddresses.length) lines.push(`ip saddr { ${ctx.hostAddresses.join(', ')} } accept`);
    if (dir === 'Egress') lines.push(...serviceLines(isolating, world));
    for (const policy of isolating) {
      const rules: Obj[] = (dir === 'Ingress' ? policy.spec?.ingress : policy.spec?.egress) ?? [];
      for (const rule of rules) lines.push(...ruleLines(dir, rule ?? {}, policy, target, world));
    }
    lines.push('counter drop');
    chains.push(`  chain ${hook} {\n${lines.map((l) => `    ${l}`).join('\n')}\n  }`);
  }
  return chains.length ? `table inet ${POLICY_TABLE} {\n${chains.join('\n')}\n}\n` : undefined;
}

/** The nft script that replaces whatever the namespace had with `rules` (atomically, in one transaction). */
export function replaceScript(rules: string | undefined): string {
  return `table inet ${POLICY_TABLE} {}\ndelete table inet ${POLICY_TABLE}\n${rules ?? ''}`;
}

/** An address as a socket reports it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) taken as IPv4. */
function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.');

/** Whether one ingress rule of `policy` (selecting `target`) lets `from` in on port/protocol. */
function ingressRuleAllows(rule: Obj, policy: KubeObject, target: KubeObject, from: string, client: KubeObject | undefined, port: number, protocol: string, world: PolicyWorld): boolean {
  return rulePortsAllow(rule, target, port, protocol) && rulePeersAllow(rule.from, policy, world, client, from);
}

/**
 * Whether a connection the service proxy relays — from `from` (the address of the client it
 * accepted) to the backend `to`:`port` — is one NetworkPolicy lets through, decided as the
 * pods' own tables decide a direct connection: the backend's ingress policies against the
 * client's real address, and a client pod's egress policies against the backend. The proxy
 * connects from the host, which the pods' tables always let in, so without this a Service
 * would be a way around the backend's policy; with it, a Service leads exactly where the pod
 * address does (kube-proxy's DNAT keeps the client's address, and the backend's rules see it).
 * The host itself is let in as the pods' tables let it in: loopback, its bridge addresses, and
 * the service range (a connection the host opens to a cluster IP comes from that address).
 */
export function serviceConnectionAllowed(from: string, to: string, port: number, protocol: string, world: PolicyWorld, ctx: PolicyContext): boolean {
  const src = plainAddress(from);
  const dst = plainAddress(to);
  const live = world.pods.filter(isLive);
  const client = live.find((p) => p.status.podIP === src);
  const backend = live.find((p) => p.status.podIP === dst);
  if (!backend) return true; // not a pod (the API server, the cluster DNS): the pods' tables let these through too
  // a pod reaching itself through its Service: its own address comes in over loopback, which its table lets in
  if (client && client.metadata.uid === backend.metadata.uid) return true;
  if (client) {
    const isolating = selectingPolicies(client, world.policies).filter((p) => policyTypes(p).includes('Egress'));
    if (isolating.length && !isolating.some((policy) => ((policy.spec?.egress ?? []) as Obj[]).some((rule) => egressRuleAllows(rule ?? {}, policy, backend, port, protocol, world)))) return false;
  }
  const fromHost = isLoopback(src) || ctx.hostAddresses.includes(src) || inCidr(src, ctx.serviceCidr);
  if (fromHost) return true;
  const isolating = selectingPolicies(backend, world.policies).filter((p) => policyTypes(p).includes('Ingress'));
  if (!isolating.length) return true;
  return isolating.some((policy) => ((policy.spec?.ingress ?? []) as Obj[]).some((rule) => ingressRuleAllows(rule ?? {}, policy, backend, src, client, port, protocol, world)));
}
