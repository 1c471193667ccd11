// Node ports for NodePort and LoadBalancer services, from upstream's default range
// 30000-32767. The ports in use are read from the stored services at each allocation, so a
// rejected or dry-run create can never leak one; ports handed out moments ago are held
// briefly so that two creates racing each other cannot get the same port.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { field, type FieldError } from '../api/validation.js';
import type { Admission, ResourceStorage } from './resource-storage.js';
import type { AnyKindDef } from '../api/registry.js';

export const NODE_PORT_RANGE = { min: 30000, max: 32767 };
const HOLD_MS = 30_000;

function needsNodePorts(spec: Record<string, any>): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

export function nodePortAdmission(storage: ResourceStorage, services: AnyKindDef): Admission {
  const held = new Map<string, number>(); // "proto/port" → until
  const inUse = async (exceptUid?: string): Promise<Set<string>> => {
    const now = Date.now();
    for (const [k, until] of held) if (until < now) held.delete(k);
    const used = new Set(held.keys());
    for (const svc of (await storage.list(services, undefined)).items) {
      if (svc.metadata.uid === exceptUid) continue;
      for (const p of Array.isArray(svc.spec?.ports) ? svc.spec.ports : []) if (p?.nodePort) used.add(`${p.protocol ?? 'TCP'}/${p.nodePort}`);
    }
    return used;
  };
  const assign = async (svc: KubeObject, old?: KubeObject): Promise<void> => {
    const spec = svc.spec;
    if (!spec || !needsNodePorts(spec) || !Array.isArray(spec.ports)) return;
    const used = await inUse(old?.metadata.uid);
    const errs: FieldError[] = [];
    const range = `${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`;
    spec.ports.forEach((p: any, i: number) => {
      if (!p || typeof p !== 'object') return;
      const proto = p.protocol ?? 'TCP';
      const kept = old?.spec?.ports?.find((o: any) => o?.nodePort && o.nodePort === p.nodePort && (o.protocol ?? 'TCP') === proto);
      if (p.nodePort) {
        if (kept) return;
        if (typeof p.nodePort !== 'number' || p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max) {
          errs.push(field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${range}`));
        } else if (used.has(`${proto}/${p.nodePort}`)) {
          errs.push(field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
        } else used.add(`${proto}/${p.nodePort}`);
        return;
      }
      // the same port number for TCP and UDP of one service port pair, as upstream tries first
      const sibling = spec.ports.find((o: any) => o !== p && o?.port === p.port && o?.nodePort && !used.has(`${proto}/${o.nodePort}`));
      let chosen: number | undefined = sibling?.nodePort;
      for (let tries = 0; chosen === undefined && tries < 64; tries++) {
        const n = NODE_PORT_RANGE.min + Math.floor(Math.random() * (NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1));
        if (!used.has(`${proto}/${n}`)) chosen = n;
      }
      for (let n = NODE_PORT_RANGE.min; chosen === undefined && n <= NODE_PORT_RANGE.max; n++) if (!used.has(`${proto}/${n}`)) chosen = n;
      if (chosen === undefined) {
        errs.push(field.invalid(`spec.ports[${i}].nodePort`, 0, `range ${range} is full`));
        return;
      }
      p.nodePort = chosen;
      used.add(`${proto}/${chosen}`);
      held.set(`${proto}/${chosen}`, Date.now() + HOLD_MS);
    });
    if (errs.length) throw errors.invalid({ group: '', resource: 'services', kind: 'Service' }, svc.metadata.name ?? '', errs);
  };
  return {
    async create(kind, obj) {
      if (kind === services) await assign(obj);
    },
    async update(kind, obj, old, _ctx, subresource) {
      if (kind === services && !subresource) await assign(obj, old);
    },
  };
}
