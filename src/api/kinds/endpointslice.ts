// discovery.k8s.io/v1 EndpointSlice: a share of a service's endpoints, written by the
// endpoint slice controller (named <service>-<suffix>, labelled kubernetes.io/service-name).
import { isIPv4, isIPv6 } from 'node:net';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Label, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { PROTOCOLS, age, ageColumn, column, immutable, isSet, list, nameColumn, validateQualifiedName, type Obj } from './support.js';

/** The label that ties a slice to its Service: what the slice controller writes and every reader selects by. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const MAX_HINTS = 8;
const SHOWN = 3;

function fqdnErrors(name: string, path: string): FieldError[] {
  if (!name) return [field.required(path)];
  const trimmed = name.replace(/\.$/, '');
  const problems = isDNS1123Subdomain(trimmed);
  if (problems.length) return [field.invalid(path, trimmed, problems.join(','))];
  const labels = trimmed.split('.');
  if (labels.length < 2) return [field.invalid(path, trimmed, 'should be a domain with at least two segments separated by dots')];
  for (const label of labels) {
    const bad = isDNS1123Label(label);
    if (bad.length) return [field.invalid(path, label, bad.join(','))];
  }
  return [];
}

// Upstream also refuses loopback and link-local addresses (ValidateNonSpecialIP); petset runs
// pods on 127.0.0.0/8, so that check is deliberately left out.
function validateAddress(type: string, address: string, path: string): FieldError[] {
  switch (type) {
    case 'IPv4':
      return isIPv4(address) ? [] : [field.invalid(path, address, 'must be a valid IPv4 address')];
    case 'IPv6':
      return isIPv6(address) ? [] : [field.invalid(path, address, 'must be a valid IPv6 address')];
    case 'FQDN':
      return fqdnErrors(address, path);
    default:
      return [];
  }
}

function validateEndpoints(endpoints: Obj[], type: string): FieldError[] {
  if (endpoints.length > MAX_ENDPOINTS) return [field.tooMany('endpoints', endpoints.length, MAX_ENDPOINTS)];
  const errs: FieldError[] = [];
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addresses = list<string>(ep.addresses);
    if (!addresses.length) errs.push(field.required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES) errs.push(field.tooMany(`${p}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((a, j) => errs.push(...validateAddress(type, a, `${p}.addresses[${j}]`)));
    if (isSet(ep.nodeName)) errs.push(...isDNS1123Subdomain(ep.nodeName).map((m) => field.invalid(`${p}.nodeName`, ep.nodeName, m)));
    if (isSet(ep.hostname)) errs.push(...isDNS1123Label(ep.hostname).map((m) => field.invalid(`${p}.hostname`, ep.hostname, m)));
    for (const key of ['forZones', 'forNodes']) {
      const hints = list(ep.hints?.[key]);
      if (hints.length > MAX_HINTS) errs.push(field.tooMany(`${p}.hints.${key}`, hints.length, MAX_HINTS));
    }
  });
  return errs;
}

function validatePorts(ports: Obj[]): FieldError[] {
  if (ports.length > MAX_PORTS) return [field.tooMany('ports', ports.length, MAX_PORTS)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = port.name ?? '';
    if (name) errs.push(...isDNS1123Label(name).map((m) => field.invalid(`${p}.name`, name, m)));
    if (names.has(name)) errs.push(field.duplicate(`${p}.name`, name));
    names.add(name);
    if (!isSet(port.protocol)) errs.push(field.required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (isSet(port.appProtocol)) errs.push(...validateQualifiedName(port.appProtocol, `${p}.appProtocol`));
  });
  return errs;
}

/** printers' listWithMoreString: the first few, how many more, or <unset>. */
function firstFew(items: string[]): string {
  const text = items.slice(0, SHOWN).join(',');
  if (items.length > SHOWN) return `${text} + ${items.length - SHOWN} more...`;
  return text || '<unset>';
}

export const endpointSliceKind: KindDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  definition: 'io.k8s.api.discovery.v1.EndpointSlice',

  defaults(slice) {
    for (const port of list(slice.ports)) {
      port.name ??= '';
      port.protocol ??= 'TCP';
    }
  },

  validate(slice) {
    const errs = [...validateEndpoints(list(slice.endpoints), slice.addressType), ...validatePorts(list(slice.ports))];
    if (!slice.addressType) errs.push(field.required('addressType'));
    else if (!ADDRESS_TYPES.includes(slice.addressType)) errs.push(field.notSupported('addressType', slice.addressType, ADDRESS_TYPES));
    return errs;
  },

  validateUpdate(slice, old) {
    return immutable('addressType', slice.addressType, old.addressType);
  },

  table: {
    columns: [
      nameColumn,
      column('AddressType', 'IPv4, IPv6 or FQDN.'),
      column('Ports', 'Ports of the slice, the first few of them.'),
      column('Endpoints', 'Addresses of the slice, the first few of them.'),
      ageColumn,
    ],
    cells: (slice, now) => [
      slice.metadata.name,
      slice.addressType ?? '',
      firstFew(list(slice.ports).map((p) => (isSet(p.port) ? String(p.port) : isSet(p.name) ? p.name : '*'))),
      firstFew(list(slice.endpoints).flatMap((ep) => list<string>(ep.addresses))),
      age(slice, now),
    ],
  },
};
