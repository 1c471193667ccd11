// A container's environment as the kubelet builds it: service links first, then envFrom,
// then env in order, each value with $(VAR) references expanded against what came before.
// Object lookups are injected, so the logic is tested with plain objects.
import os from 'node:os';
import { quantityMilliValue, quantityValue } from '../../../api/quantity.js';
import { ConfigError } from './security.js';

type Obj = Record<string, any>;

export interface EnvSources {
  configMap(namespace: string, name: string): Promise<Obj | undefined>;
  secret(namespace: string, name: string): Promise<Obj | undefined>;
  /** Services of the namespace (for service links) and the default namespace's "kubernetes" */
  services(namespace: string): Promise<Obj[]>;
}

export interface EnvContext {
  pod: Obj;
  container: Obj;
  podIP: string;
  hostIP: string;
}

/** Expands $(VAR) from vars; $$ is a literal $, unknown references stay as written (upstream expansion.Expand). */
export function expand(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = end;
    } else out += ch;
  }
  return out;
}

/** Service links, as docker links name them: FOO_BAR_SERVICE_HOST, FOO_BAR_PORT_80_TCP_ADDR, ... */
export function serviceEnv(services: Obj[], namespace: string, enableServiceLinks: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  const pick = services.filter((s) => {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None') return false;
    if (s.metadata?.namespace === namespace && enableServiceLinks) return true;
    return s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes';
  });
  for (const s of pick) {
    const name = String(s.metadata.name).toUpperCase().replace(/-/g, '_');
    const ip = s.spec.clusterIP;
    const ports: Obj[] = s.spec.ports ?? [];
    if (!ports.length) continue;
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) if (p.name) env[`${name}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    const first = ports[0];
    env[`${name}_PORT`] = `${String(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`;
    for (const p of ports) {
      const proto = String(p.protocol ?? 'TCP');
      const prefix = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
      env[prefix] = `${proto.toLowerCase()}://${ip}:${p.port}`;
      env[`${prefix}_PROTO`] = proto.toLowerCase();
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}

/** The container's environment, in order; throws ConfigError with upstream's messages. */
export async function containerEnv(ctx: EnvContext, sources: EnvSources): Promise<Record<string, string>> {
  const { pod, container } = ctx;
  const ns: string = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = serviceEnv(await sources.services(ns), ns, pod.spec?.enableServiceLinks !== false);
  const cms = new Map<string, Obj | undefined>();
  const secrets = new Map<string, Obj | undefined>();
  const cm = async (name: string) => {
    if (!cms.has(name)) cms.set(name, await sources.configMap(ns, name));
    return cms.get(name);
  };
  const secret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await sources.secret(ns, name));
    return secrets.get(name);
  };
  for (const from of container.envFrom ?? []) {
    const prefix: string = from.prefix ?? '';
    if (from.configMapRef) {
      const obj = await cm(from.configMapRef.name);
      if (!obj) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) env[prefix + k] = String(v);
    } else if (from.secretRef) {
      const obj = await secret(from.secretRef.name);
      if (!obj) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) env[prefix + k] = Buffer.from(String(v), 'base64').toString('utf8');
    }
  }
  for (const e of container.env ?? []) {
    const name: string = e.name;
    const from = e.valueFrom;
    if (!from) {
      env[name] = expand(String(e.value ?? ''), env);
      continue;
    }
    if (from.fieldRef) env[name] = fieldValue(ctx, from.fieldRef.fieldPath);
    else if (from.resourceFieldRef) env[name] = resourceValue(pod, container, from.resourceFieldRef);
    else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const obj = await cm(ref.name);
      if (!obj) {
        if (ref.optional) continue;
        throw new ConfigError(`configmap "${ref.name}" not found`);
      }
      const v = obj.data?.[ref.key] ?? (obj.binaryData?.[ref.key] !== undefined ? Buffer.from(obj.binaryData[ref.key], 'base64').toString('utf8') : undefined);
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      }
      env[name] = String(v);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const obj = await secret(ref.name);
      if (!obj) {
        if (ref.optional) continue;
        throw new ConfigError(`secret "${ref.name}" not found`);
      }
      const v = obj.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      }
      env[name] = Buffer.from(String(v), 'base64').toString('utf8');
    }
  }
  return env;
}

/** A downward API field, as env and downwardAPI volumes show it. */
export function fieldValue(ctx: { pod: Obj; podIP: string; hostIP: string }, fieldPath: string): string {
  const { pod } = ctx;
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (m) return String(pod.metadata?.[m[1]]?.[m[2]] ?? '');
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    default:
      throw new ConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** key="value" lines, sorted, as the downward API writes labels and annotations. */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** limits.cpu etc., rounded up by the divisor; an unset limit is the node's allocatable. */
export function resourceValue(pod: Obj, container: Obj, ref: Obj): string {
  const target = ref.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c: Obj) => c.name === ref.containerName) ?? container : container;
  const [kind, res] = String(ref.resource).split('.');
  let q = target.resources?.[kind]?.[res];
  if (q === undefined && kind === 'limits') q = res === 'cpu' ? String(os.cpus().length) : res === 'memory' ? String(os.totalmem()) : undefined;
  if (q === undefined) q = '0';
  const divisor = ref.divisor ?? (res === 'cpu' ? '1' : '1');
  if (res === 'cpu') return String(Math.ceil(quantityMilliValue(q) / quantityMilliValue(divisor)));
  return String(Math.ceil(quantityValue(q) / quantityValue(divisor)));
}
