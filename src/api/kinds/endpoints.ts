// core/v1 Endpoints: the addresses behind a service, written by the endpoints controller
// (or by hand for services without a selector).
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Label, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { PROTOCOLS, age, ageColumn, column, isSet, list, nameColumn, validateIP, validatePortNumber, validateQualifiedName, type Obj } from './support.js';

/** At most this many addresses are listed in the Endpoints column. */
const SHOWN_ADDRESSES = 3;

// Upstream also rejects loopback and link-local addresses (ValidateNonSpecialIP); petset
// keeps pod IPs on 127.0.0.0/8, so that check is deliberately left out.
function validateAddress(addr: Obj, path: string): FieldError[] {
  const errs = validateIP(addr.ip, `${path}.ip`);
  if (addr.hostname) errs.push(...isDNS1123Label(addr.hostname).map((m) => field.invalid(`${path}.hostname`, addr.hostname, m)));
  if (isSet(addr.nodeName)) errs.push(...isDNS1123Subdomain(addr.nodeName).map((m) => field.invalid(`${path}.nodeName`, addr.nodeName, m)));
  return errs;
}

function validatePort(port: Obj, requireName: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !port.name) errs.push(field.required(`${path}.name`));
  else if (port.name) errs.push(...isDNS1123Label(port.name).map((m) => field.invalid(`${path}.name`, port.name, m)));
  errs.push(...validatePortNumber(port.port, `${path}.port`));
  if (!port.protocol) errs.push(field.required(`${path}.protocol`));
  else if (!PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  if (isSet(port.appProtocol)) errs.push(...validateQualifiedName(port.appProtocol, `${path}.appProtocol`));
  return errs;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** printers' formatEndpoints: the first few ip:port pairs and how many more there are. */
export function formatEndpoints(ep: KubeObject): string {
  const subsets = list(ep.subsets);
  if (!subsets.length) return '<none>';
  const shown: string[] = [];
  let total = 0;
  for (const ss of subsets) {
    const addresses = list(ss.addresses);
    const ports = list(ss.ports);
    // a headless service may have no ports: list bare addresses
    const targets = ports.length ? ports.map((p) => p.port as number) : [undefined];
    for (const port of targets) {
      total += addresses.length;
      for (const a of addresses) {
        if (shown.length === SHOWN_ADDRESSES) break;
        shown.push(port === undefined ? a.ip : hostPort(a.ip, port));
      }
    }
  }
  const text = shown.join(',');
  return total > SHOWN_ADDRESSES ? `${text} + ${total - SHOWN_ADDRESSES} more...` : text;
}

export const endpointsKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  definition: 'io.k8s.api.core.v1.Endpoints',

  defaults(ep) {
    for (const ss of list(ep.subsets)) for (const p of list(ss.ports)) p.protocol ||= 'TCP';
  },

  validate(ep) {
    const errs: FieldError[] = [];
    list(ep.subsets).forEach((ss, i) => {
      const p = `subsets[${i}]`;
      const addresses = list(ss.addresses);
      const notReady = list(ss.notReadyAddresses);
      if (!addresses.length && !notReady.length) errs.push(field.required(p, 'must specify `addresses` or `notReadyAddresses`'));
      addresses.forEach((a, j) => errs.push(...validateAddress(a, `${p}.addresses[${j}]`)));
      notReady.forEach((a, j) => errs.push(...validateAddress(a, `${p}.notReadyAddresses[${j}]`)));
      const ports = list(ss.ports);
      ports.forEach((port, j) => errs.push(...validatePort(port, ports.length > 1, `${p}.ports[${j}]`)));
    });
    return errs;
  },

  table: {
    columns: [nameColumn, column('Endpoints', 'Ready addresses and ports, the first few of them.'), ageColumn],
    cells: (ep, now) => [ep.metadata.name, formatEndpoints(ep), age(ep, now)],
  },
};
