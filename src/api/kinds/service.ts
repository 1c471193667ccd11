// core/v1 Service: upstream's defaults, validation and table. Cluster IP (and node port)
// allocation belongs to the API server; serviceNeedsClusterIP tells it when to allocate.
import { deepEqual, isPlainObject, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1035Label, isDNS1123Label, validateLabels, type FieldError } from '../validation.js';
import {
  PROTOCOLS,
  age,
  ageColumn,
  column,
  goStrings,
  isSet,
  list,
  nameColumn,
  validateDNS1123Subdomain,
  validateIP,
  validatePortNumOrName,
  validatePortNumber,
  validateQualifiedName,
  type Obj,
} from './support.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILIES = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const DEFAULT_AFFINITY_TIMEOUT = 10800;
const MAX_AFFINITY_TIMEOUT = 86400;

/**
 * True when the service must hold a virtual IP: every type but ExternalName, unless headless.
 * The API server allocates one when spec.clusterIP is empty and otherwise reserves the one
 * asked for; either way it then sets spec.clusterIP and spec.clusterIPs (see assignClusterIP).
 */
export function serviceNeedsClusterIP(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && list<string>(spec.clusterIPs)[0] !== 'None';
}

/** Records an allocated address the way upstream keeps it: clusterIP and clusterIPs agree. */
export function assignClusterIP(svc: KubeObject, ip: string): void {
  svc.spec ??= {};
  svc.spec.clusterIP = ip;
  svc.spec.clusterIPs = [ip];
}

function isHeadless(spec: Obj): boolean {
  return spec.clusterIP === 'None' || list<string>(spec.clusterIPs)[0] === 'None';
}

function externallyAccessible(spec: Obj): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && list(spec.externalIPs).length > 0);
}

function usesClusterIP(spec: Obj): boolean {
  return spec.type !== 'ExternalName';
}

function defaultService(svc: KubeObject): void {
  const spec = (svc.spec ??= {});
  spec.type ||= 'ClusterIP';
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && !isSet(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds)) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT } };
  }
  for (const port of list(spec.ports)) {
    if (!isPlainObject(port)) continue;
    port.protocol ||= 'TCP';
    if (!isSet(port.targetPort) || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
  if (externallyAccessible(spec)) spec.externalTrafficPolicy ||= 'Cluster';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (usesClusterIP(spec)) {
    // a headless service without a selector may front endpoints of either family
    const anyFamily = isHeadless(spec) && !Object.keys(spec.selector ?? {}).length;
    spec.ipFamilyPolicy ??= anyFamily ? 'RequireDualStack' : 'SingleStack';
    if (!list(spec.ipFamilies).length) spec.ipFamilies = anyFamily ? ['IPv4', 'IPv6'] : ['IPv4'];
  }
}

/**
 * upstream's patchAllocatedValues + normalizeClusterIPs for updates: a client that leaves out
 * the allocated addresses keeps them, and clusterIP and clusterIPs stay in step.
 */
function normalizeClusterIPs(spec: Obj, old: Obj): void {
  const oldIPs = list<string>(old.clusterIPs);
  if (usesClusterIP(spec) && usesClusterIP(old)) {
    if (!spec.clusterIP && old.clusterIP) spec.clusterIP = old.clusterIP;
    if (!list(spec.clusterIPs).length && oldIPs.length) spec.clusterIPs = [...oldIPs];
  }
  if ((old.clusterIP ?? '') === (spec.clusterIP ?? '')) return;
  const sameIPs = deepEqual(list(spec.clusterIPs), oldIPs);
  if (old.clusterIP && !spec.clusterIP) {
    if (sameIPs) delete spec.clusterIPs;
  } else if (sameIPs) {
    spec.clusterIPs = [spec.clusterIP];
  }
}

/** upstream's dropTypeDependentFields: what a type change makes meaningless, unless the user changed it too. */
function dropTypeDependentFields(spec: Obj, old: Obj): void {
  if (usesClusterIP(old) && !usesClusterIP(spec)) {
    if (spec.clusterIP === old.clusterIP && deepEqual(spec.clusterIPs, old.clusterIPs)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (deepEqual(spec.ipFamilies, old.ipFamilies)) delete spec.ipFamilies;
    if (spec.ipFamilyPolicy === old.ipFamilyPolicy) delete spec.ipFamilyPolicy;
    if (spec.internalTrafficPolicy === old.internalTrafficPolicy) delete spec.internalTrafficPolicy;
  }
  const needsNodePorts = (s: Obj) => s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
  if (needsNodePorts(old) && !needsNodePorts(spec)) {
    const oldPorts = list(old.ports).map((p) => p.nodePort);
    if (deepEqual(list(spec.ports).map((p) => p.nodePort), oldPorts)) for (const p of list(spec.ports)) delete p.nodePort;
  }
  if (old.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (spec.healthCheckNodePort === old.healthCheckNodePort) delete spec.healthCheckNodePort;
    if (spec.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === old.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(spec) && spec.externalTrafficPolicy === old.externalTrafficPolicy) {
    delete spec.externalTrafficPolicy;
  }
}

function validateService(svc: KubeObject): FieldError[] {
  const spec: Obj = isPlainObject(svc.spec) ? svc.spec : {};
  const errs: FieldError[] = [];
  const ports = list(spec.ports);
  const headless = isHeadless(spec);

  if (!ports.length && !headless && spec.type !== 'ExternalName') errs.push(field.required('spec.ports'));

  if (spec.type === 'ExternalName') {
    if (spec.clusterIP) errs.push(field.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    if (list(spec.clusterIPs).length) errs.push(field.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (list(spec.ipFamilies).length) errs.push(field.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy) errs.push(field.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = String(spec.externalName ?? '').replace(/\.$/, '');
    if (cname) errs.push(...validateDNS1123Subdomain(cname, 'spec.externalName'));
    else errs.push(field.required('spec.externalName'));
  }

  const names = new Set<string>();
  ports.forEach((port, i) => errs.push(...validatePort(port, ports.length > 1, names, `spec.ports[${i}]`)));

  if (!TYPES.includes(spec.type)) errs.push(field.notSupported('spec.type', spec.type ?? '', TYPES));
  if (spec.type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(field.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }

  if (!AFFINITIES.includes(spec.sessionAffinity)) errs.push(field.notSupported('spec.sessionAffinity', spec.sessionAffinity ?? '', AFFINITIES));
  if (spec.sessionAffinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (!isSet(timeout)) errs.push(field.required('spec.sessionAffinityConfig.clientIP.timeoutSeconds'));
    else if (!(timeout > 0 && timeout <= MAX_AFFINITY_TIMEOUT)) {
      errs.push(
        field.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`),
      );
    }
  } else if (spec.sessionAffinity === 'None' && isSet(spec.sessionAffinityConfig)) {
    errs.push(field.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }

  errs.push(...validateLabels(spec.selector, 'spec.selector'));

  list<string>(spec.externalIPs).forEach((ip, i) => errs.push(...validateIP(ip, `spec.externalIPs[${i}]`)));

  if (spec.externalTrafficPolicy) {
    if (!externallyAccessible(spec)) {
      errs.push(field.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    } else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy)) {
      errs.push(field.notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, TRAFFIC_POLICIES));
    }
  }
  if (spec.type !== 'ExternalName') {
    if (!spec.internalTrafficPolicy) errs.push(field.required('spec.internalTrafficPolicy'));
    else if (!TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy)) {
      errs.push(field.notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES));
    }
  }

  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const key = `${p.protocol}/${p.nodePort}`;
      if (nodePorts.has(key)) errs.push(field.duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(key);
    }
    const key = `${p.protocol}/${p.port}`;
    if (portKeys.has(key)) errs.push(field.duplicate(`spec.ports[${i}]`, { port: p.port, protocol: p.protocol }));
    portKeys.add(key);
  });

  if (spec.type !== 'ExternalName') errs.push(...validateClusterIPFields(spec));
  return errs;
}

function validatePort(port: Obj, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !port.name) errs.push(field.required(`${path}.name`));
  else if (port.name) {
    errs.push(...isDNS1123Label(port.name).map((m) => field.invalid(`${path}.name`, port.name, m)));
    if (names.has(port.name)) errs.push(field.duplicate(`${path}.name`, port.name));
    names.add(port.name);
  }
  errs.push(...validatePortNumber(port.port, `${path}.port`));
  if (!port.protocol) errs.push(field.required(`${path}.protocol`));
  else if (!PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  errs.push(...validatePortNumOrName(port.targetPort, `${path}.targetPort`));
  if (isSet(port.appProtocol)) errs.push(...validateQualifiedName(port.appProtocol, `${path}.appProtocol`));
  if (isSet(port.nodePort) && port.nodePort !== 0) errs.push(...validatePortNumber(port.nodePort, `${path}.nodePort`));
  return errs;
}

/** validateServiceClusterIPsRelatedFields, for the types that use cluster IPs. */
function validateClusterIPFields(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const ips = list<string>(spec.clusterIPs);
  if (spec.clusterIP) {
    if (!ips.length) errs.push(field.required('spec.clusterIPs'));
    else if (ips[0] !== spec.clusterIP) errs.push(field.invalid('spec.clusterIPs', goStrings(ips), 'first value must match `clusterIP`'));
  } else if (ips.length) {
    errs.push(field.invalid('spec.clusterIPs', goStrings(ips), 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  list<string>(spec.ipFamilies).forEach((family, i) => {
    if (!IP_FAMILIES.includes(family)) errs.push(field.notSupported(`spec.ipFamilies[${i}]`, family, IP_FAMILIES));
    if (seen.has(family)) errs.push(field.duplicate(`spec.ipFamilies[${i}]`, family));
    seen.add(family);
  });
  if (isSet(spec.ipFamilyPolicy) && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy)) {
    errs.push(field.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
  }
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) errs.push(field.invalid('spec.clusterIPs', goStrings(ips), "'None' must be the first and only value"));
      return;
    }
    errs.push(...validateIP(ip, `spec.clusterIPs[${i}]`));
  });
  if (ips.length > 2) errs.push(field.invalid('spec.clusterIPs', goStrings(ips), 'may only hold up to 2 values'));
  return errs;
}

/** validateUpgradeDowngradeClusterIPs: allocated addresses never change. */
function validateClusterIPsUpdate(spec: Obj, old: Obj): FieldError[] {
  if (!usesClusterIP(spec) || !usesClusterIP(old)) return [];
  if (isHeadless(spec) && isHeadless(old)) return [];
  const ips = list<string>(spec.clusterIPs);
  const oldIPs = list<string>(old.clusterIPs);
  const errs: FieldError[] = [];
  const changed = (detail: string) => errs.push(field.invalid('spec.clusterIPs[0]', goStrings(ips), detail));
  if (ips.length === oldIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ip !== ips[i]) errs.push(field.invalid(`spec.clusterIPs[${i}]`, goStrings(ips), 'may not change once set'));
    });
  } else if (ips.length < oldIPs.length) {
    if (!ips.length) changed('primary clusterIP can not be unset');
    else if (ips[0] !== oldIPs[0]) changed('may not change once set');
    if (ips.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
      changed("`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP");
    }
  } else if (oldIPs.length && ips[0] !== oldIPs[0]) {
    changed('may not change once set');
  }
  return errs;
}

function externalIPCell(spec: Obj, status: Obj | undefined): string {
  const externalIPs = list<string>(spec.externalIPs);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = list(status?.loadBalancer?.ingress)
        .map((i) => i.ip || i.hostname)
        .filter(Boolean);
      if (externalIPs.length) return [...lb, ...externalIPs].join(',');
      return lb.length ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function portsCell(ports: Obj[]): string {
  const text = ports.map((p) => (p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
  return text || '<none>';
}

function selectorCell(selector: Record<string, string> | undefined): string {
  const keys = Object.keys(selector ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${selector![k]}`).join(',') : '<none>';
}

export const serviceKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  definition: 'io.k8s.api.core.v1.Service',
  subresources: { status: true },
  nameValidator: isDNS1035Label,

  defaults: defaultService,

  prepareForCreate(svc) {
    svc.status = { loadBalancer: {} };
    const spec = (svc.spec ??= {});
    // older clients set only clusterIP
    if (spec.clusterIP && !list(spec.clusterIPs).length) spec.clusterIPs = [spec.clusterIP];
  },

  prepareForUpdate(svc, old) {
    const spec = (svc.spec ??= {});
    const oldSpec = old.spec ?? {};
    dropTypeDependentFields(spec, oldSpec);
    normalizeClusterIPs(spec, oldSpec);
  },

  validate: validateService,

  validateUpdate(svc, old) {
    return validateClusterIPsUpdate(svc.spec ?? {}, old.spec ?? {});
  },

  validateStatusUpdate(svc) {
    const errs: FieldError[] = [];
    list(svc.status?.loadBalancer?.ingress).forEach((ing, i) => {
      if (ing.ip) errs.push(...validateIP(ing.ip, `status.loadBalancer.ingress[${i}].ip`));
    });
    return errs;
  },

  fields: {
    'spec.clusterIP': (svc) => svc.spec?.clusterIP ?? '',
    'spec.type': (svc) => svc.spec?.type ?? '',
  },

  table: {
    columns: [
      nameColumn,
      column('Type', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
      column('Cluster-IP', 'The virtual IP of the service; None for a headless service.'),
      column('External-IP', 'Addresses outside the cluster that reach the service.'),
      column('Port(s)', 'Ports the service exposes, as port[:nodePort]/protocol.'),
      ageColumn,
      column('Selector', 'Labels of the pods that back the service.', { priority: 1 }),
    ],
    cells(svc, now) {
      const spec: Obj = svc.spec ?? {};
      return [
        svc.metadata.name,
        spec.type ?? '',
        spec.clusterIP || '<none>',
        externalIPCell(spec, svc.status),
        portsCell(list(spec.ports)),
        age(svc, now),
        selectorCell(spec.selector),
      ];
    },
  },
};
