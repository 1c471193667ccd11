// networking.k8s.io/v1 NetworkPolicy: which traffic selected pods may receive and send.
// Stored and validated as upstream; petset says at start whether it enforces them.
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { PROTOCOLS, age, ageColumn, column, isSet, list, nameColumn, record, validateLabelSelector } from './support.js';

const POLICY_TYPES = ['Ingress', 'Egress'];
const IANA_SVC_NAME = /^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function cidrBits(cidr: string): { ip: number; prefix: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return undefined;
  return { ip: ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0, prefix: Number(m[5]) };
}

function within(inner: { ip: number; prefix: number }, outer: { ip: number; prefix: number }): boolean {
  if (inner.prefix < outer.prefix) return false;
  const mask = outer.prefix === 0 ? 0 : (0xffffffff << (32 - outer.prefix)) >>> 0;
  return ((inner.ip & mask) >>> 0) === ((outer.ip & mask) >>> 0);
}

function validatePeer(peer: Record<string, any>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => isSet(peer[k]));
  if (!set.length) errs.push(field.required(path, 'must specify a peer'));
  else if (set.includes('ipBlock') && set.length > 1) errs.push(field.forbidden(path, 'may not specify more than 1 peer'));
  if (isSet(peer.podSelector)) errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  if (isSet(peer.namespaceSelector)) errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  if (isSet(peer.ipBlock)) {
    const block = record(peer.ipBlock);
    const cidr = typeof block.cidr === 'string' ? cidrBits(block.cidr) : undefined;
    if (!block.cidr) errs.push(field.required(`${path}.ipBlock.cidr`));
    else if (!cidr) errs.push(field.invalid(`${path}.ipBlock.cidr`, block.cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    list<string>(block.except).forEach((e, i) => {
      const ex = typeof e === 'string' ? cidrBits(e) : undefined;
      if (!ex) errs.push(field.invalid(`${path}.ipBlock.except[${i}]`, e, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      else if (cidr && !(within(ex, cidr) && ex.prefix > cidr.prefix)) errs.push(field.invalid(`${path}.ipBlock.except[${i}]`, e, 'must be a strict subset of `cidr`'));
    });
  }
  return errs;
}

function validatePort(port: Record<string, any>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (isSet(port.protocol) && !PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  if (isSet(port.port)) {
    if (typeof port.port === 'number') {
      if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535) errs.push(field.invalid(`${path}.port`, port.port, 'must be between 1 and 65535, inclusive'));
    } else if (typeof port.port !== 'string' || !IANA_SVC_NAME.test(port.port) || !/[a-z]/.test(port.port)) {
      errs.push(field.invalid(`${path}.port`, port.port, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'));
    }
  }
  if (isSet(port.endPort)) {
    if (typeof port.port !== 'number') errs.push(field.required(`${path}.port`, 'must specify port when endPort is specified'));
    else if (typeof port.endPort !== 'number' || port.endPort < port.port) errs.push(field.invalid(`${path}.endPort`, port.endPort, 'must be greater than or equal to `port`'));
    else if (port.endPort > 65535) errs.push(field.invalid(`${path}.endPort`, port.endPort, 'must be between 1 and 65535, inclusive'));
  }
  return errs;
}

export const networkPolicyKind: KindDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  plural: 'networkpolicies',
  singular: 'networkpolicy',
  namespaced: true,
  shortNames: ['netpol'],
  definition: 'io.k8s.api.networking.v1.NetworkPolicy',
  tracksGeneration: true,

  defaults(np) {
    const spec = (np.spec ??= {});
    for (const rule of [...list(spec.ingress), ...list(spec.egress)]) for (const p of list(rule.ports)) p.protocol ??= 'TCP';
    if (!isSet(spec.policyTypes)) spec.policyTypes = isSet(spec.egress) ? ['Ingress', 'Egress'] : ['Ingress'];
  },

  validate(np) {
    const spec = record(np.spec);
    const errs: FieldError[] = [];
    errs.push(...validateLabelSelector(spec.podSelector ?? {}, 'spec.podSelector'));
    list(spec.ingress).forEach((rule, i) => {
      list(rule.ports).forEach((p, j) => errs.push(...validatePort(p, `spec.ingress[${i}].ports[${j}]`)));
      list(rule.from).forEach((p, j) => errs.push(...validatePeer(p, `spec.ingress[${i}].from[${j}]`)));
    });
    list(spec.egress).forEach((rule, i) => {
      list(rule.ports).forEach((p, j) => errs.push(...validatePort(p, `spec.egress[${i}].ports[${j}]`)));
      list(rule.to).forEach((p, j) => errs.push(...validatePeer(p, `spec.egress[${i}].to[${j}]`)));
    });
    const types = list<string>(spec.policyTypes);
    types.forEach((t, i) => {
      if (!POLICY_TYPES.includes(t)) errs.push(field.notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
    });
    if (types.length > 2) errs.push(field.invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
    return errs;
  },

  table: {
    columns: [nameColumn, column('Pod-Selector', 'The pods the policy applies to.'), ageColumn],
    cells(np, now) {
      const sel = record(np.spec?.podSelector);
      const labels = Object.entries(record(sel.matchLabels)).map(([k, v]) => `${k}=${v}`);
      const exprs = list(sel.matchExpressions).map((e) => `${e.key} ${String(e.operator).toLowerCase()} (${list(e.values).join(',')})`);
      const text = [...labels, ...exprs].join(',');
      return [np.metadata.name, text || '<none>', age(np, now)];
    },
  },
};
