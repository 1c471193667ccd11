// Requests to a version of a resource that another version stores (autoscaling/v1
// HorizontalPodAutoscaler over v2): bodies are converted to the stored version, the request is
// served as one to that version, and what comes back (objects, lists, watch events) is
// converted to the version asked for. A patch is applied to the object as the asked version
// shows it, so merge, JSON and strategic merge patches mean what the client meant.
import { errors } from '../api/errors.js';
import { isPlainObject, type KubeObject } from '../api/object.js';
import { applyPatch } from '../api/patch/index.js';
import { kindApiVersion, type AnyKindDef } from '../api/registry.js';
import { CONTENT, type ApiRequest, type ApiResponse, type WatchEvent } from '../api/request.js';
import type { ApiServer, ResourceRoute } from './handler.js';

type Serve = (req: ApiRequest, route: ResourceRoute) => Promise<ApiResponse>;

export async function serveConverted(api: ApiServer, req: ApiRequest, route: ResourceRoute, serve: Serve): Promise<ApiResponse> {
  const kind = route.kind;
  const conv = kind.conversion!;
  const stored = api.registry.resource(kind.group, conv.storedVersion, kind.plural);
  if (!stored) throw new Error(`${kind.kind} ${kind.version}: no stored version ${conv.storedVersion}`);
  const storedRoute: ResourceRoute = { ...route, kind: stored };
  let sreq = req;
  if (req.method === 'PATCH' && route.name && (!route.subresource || route.subresource === 'status')) {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType === CONTENT.applyPatch) {
      throw errors.unsupportedMediaType([CONTENT.jsonPatch, CONTENT.mergePatch, CONTENT.strategicPatch]);
    }
    const current = conv.fromStored(await api.storage.get(stored, route.namespace, route.name));
    const patched = applyPatch(contentType, current, req.body, api.registry.schema(kind), api.registry.definitions);
    // the patch was against this version; the write is a conditional update of the stored one
    patched.metadata = { ...patched.metadata, resourceVersion: patched.metadata?.resourceVersion ?? current.metadata.resourceVersion };
    sreq = { ...req, method: 'PUT', headers: { ...req.headers, 'content-type': CONTENT.json }, body: conv.toStored(patched) };
  } else if ((req.method === 'POST' || req.method === 'PUT') && isPlainObject(req.body) && (!route.subresource || route.subresource === 'status')) {
    sreq = { ...req, body: conv.toStored(req.body as KubeObject) };
  }
  const res = await serve(sreq, storedRoute);
  return convertResponse(res, kind, stored);
}

function convertResponse(res: ApiResponse, kind: AnyKindDef, stored: AnyKindDef): ApiResponse {
  const conv = kind.conversion!;
  const one = (o: unknown) => (isPlainObject(o) && (o as KubeObject).kind === stored.kind ? conv.fromStored(o as KubeObject) : o);
  if (res.stream) {
    const inner = res.stream;
    return {
      ...res,
      stream: {
        start: (send, end) => inner.start((chunk) => send(isPlainObject(chunk) && 'object' in (chunk as object) ? { ...(chunk as WatchEvent), object: one((chunk as WatchEvent).object) as KubeObject } : chunk), end),
        stop: () => inner.stop(),
      },
    };
  }
  const body = res.body as any;
  if (isPlainObject(body) && body.kind === `${stored.kind}List`) {
    return { ...res, body: { ...body, apiVersion: kindApiVersion(kind), items: (body.items ?? []).map(one) } };
  }
  return { ...res, body: one(body) };
}
