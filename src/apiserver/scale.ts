// The scale subresource (autoscaling/v1 Scale) over any kind that declares one.
import { errors } from '../api/errors.js';
import yaml from 'js-yaml';
import { isPlainObject, type KubeObject } from '../api/object.js';
import { applyPatch } from '../api/patch/index.js';
import { resourceRef, type AnyKindDef, type ScaleDef } from '../api/registry.js';
import { CONTENT, type ApiRequest, type ApiResponse } from '../api/request.js';
import type { ResourceStorage, WriteContext } from './resource-storage.js';

function getPath(obj: any, path: string): any {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj: any, path: string, v: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys[keys.length - 1]] = v;
}

export function scaleOf(obj: KubeObject, def: ScaleDef): KubeObject {
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: getPath(obj, def.specReplicasPath) ?? 0 },
    status: { replicas: getPath(obj, def.statusReplicasPath) ?? 0, selector: def.selector(obj) },
  };
}

const SCALE_SCHEMA = { $ref: 'io.k8s.api.autoscaling.v1.Scale' };

export class ScaleSubresource {
  constructor(private readonly storage: ResourceStorage) {}

  async serve(req: ApiRequest, kind: AnyKindDef, namespace: string | undefined, name: string, ctx: WriteContext): Promise<ApiResponse> {
    const def = kind.subresources!.scale!;
    const ok = (obj: KubeObject) => ({ status: 200, body: scaleOf(obj, def), headers: { 'Content-Type': 'application/json' } });
    switch (req.method) {
      case 'GET':
        return ok(await this.storage.get(kind, namespace, name));
      case 'PUT':
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        const updated = await this.storage.guaranteedUpdate(
          kind,
          namespace,
          name,
          (current) => {
            const scale = scaleOf(current, def);
            let wanted: any = req.body;
            if (req.method === 'PATCH') {
              // apply to scale is approximated as a merge of the applied Scale (YAML or JSON text)
              const apply = contentType === CONTENT.applyPatch;
              const body = apply && typeof req.body === 'string' ? decodeYaml(req.body) : req.body;
              wanted = applyPatch(apply ? CONTENT.mergePatch : contentType, scale, body, SCALE_SCHEMA, this.storage.registry.definitions);
            }
            if (!isPlainObject(wanted)) throw errors.badRequest('the body must be a Scale object');
            const rv = wanted.metadata?.resourceVersion;
            if (rv && rv !== current.metadata.resourceVersion) throw errors.modified(resourceRef(kind), name);
            const replicas = wanted.spec?.replicas ?? 0;
            if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
              throw errors.invalid({ group: 'autoscaling', resource: 'scale', kind: 'Scale' }, name, [
                { type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas, detail: 'must be greater than or equal to 0' },
              ]);
            }
            setPath(current, def.specReplicasPath, replicas);
            return current;
          },
          ctx,
        );
        return ok(updated);
      }
      default:
        throw errors.methodNotSupported(resourceRef(kind), req.method.toLowerCase());
    }
  }
}

function decodeYaml(text: string): unknown {
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA, json: true }) ?? null;
  } catch (e) {
    throw errors.badRequest(`error converting YAML to JSON: yaml: ${(e as yaml.YAMLException).reason ?? (e as Error).message}`);
  }
}
