// The API server's request handler: one function from ApiRequest to ApiResponse, generic
// over the kinds registry. The HTTP front end (http.ts) and the in-process client transport
// both call it, so every caller gets the same semantics.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, errors, type Status } from '../api/errors.js';
import { clone, isPlainObject, timestamp, type KubeObject } from '../api/object.js';
import { applyPatch, PATCH_CONTENT_TYPES } from '../api/patch/index.js';
import { kindApiVersion, resourceRef, type AnyKindDef, type Registry } from '../api/registry.js';
import { CONTENT, unsharedResponses, type ApiRequest, type ApiResponse, type UserInfo } from '../api/request.js';
import type { Store } from '../store/store.js';
import {
  aggregatedDiscovery,
  aggregatedVersionWanted,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from './discovery.js';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, openApiV2Json, openApiV2Protobuf } from './openapi-v2.js';
import type { Definitions, Schema } from '../api/schema.js';
import { decodeForApply, decodePatchedObject, decodeWriteBody, fieldValidationMode, patchShown } from './field-validation.js';
import { decodeApplyText } from './decode.js';
import { openApiV3DocumentJson, openApiV3Index } from './openapi.js';
import { parseRV, ResourceStorage, storeErrorToApi, type DeleteOptions, type WriteContext } from './resource-storage.js';
import { toTable, wantsTable, type IncludeObject } from './tables.js';
import { awaitWatchRevision, validateWatchOptions, watchResource, type WatchOptions } from './watch.js';
import { ScaleSubresource } from './scale.js';
import { serveConverted } from './conversion.js';
import { checkUnknownFields } from './field-validation.js';
import { entryKey, type KindEntry } from './resource-table.js';
import { KIND_ENTRIES } from './kinds/index.js';
import { serverSideApply, validatePatchOptions, validateWriteOptions } from './apply.js';
import { managerName } from '../api/managedfields/index.js';
import { CustomResourceServing } from './customresources.js';
import type { Authorizer } from './authz/authorizer.js';
import type { PodSecurityConfig } from './pod-security.js';
import { forbidden, requestAttributes } from './authz/attributes.js';
import { impersonate, impersonationHeaders } from './authz/impersonation.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-petset',
  gitCommit: 'petset',
  gitTreeState: 'clean',
  buildDate: '2026-11-20T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Extra handlers for subresources served by other parts (binding, eviction, log, proxy...). */
export type SubresourceHandler = (
  req: ApiRequest,
  route: ResourceRoute,
  server: ApiServer,
) => Promise<ApiResponse>;

/** A connect subresource's upgraded request (exec, attach, portforward, proxy with WebSocket). */
export interface UpgradeRequest {
  req: http.IncomingMessage;
  socket: Duplex;
  head: Buffer;
  route: ResourceRoute;
  query: URLSearchParams;
  user: UserInfo;
}

/** Takes over the connection: answers 101 (or an error) on the socket itself. */
export type UpgradeHandler = (u: UpgradeRequest, server: ApiServer) => Promise<void>;

export interface ResourceRoute {
  kind: AnyKindDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** path below the subresource (proxy) */
  subpath?: string;
  watch: boolean;
}

export interface ApiServerOptions {
  /** what /api's serverAddressByClientCIDRs reports */
  serverAddress?: string;
  /** readiness checks beyond "the store answers" */
  readyChecks?: Array<{ name: string; check: () => boolean }>;
  bookmarkIntervalMs?: number;
  /** where services' cluster IPs come from (kube-apiserver's --service-cluster-ip-range) */
  serviceClusterIPRange?: string;
  /** the bearer token for connections to node agents (logs, exec, attach, port-forward) */
  nodeConnectionToken?: string;
  /** the pod range of the root pod network (pods on a bridge of this host), which proxies may dial as well as loopback */
  podCIDR?: string;
  /** the network of the address the API server serves on (not loopback): nodes joined from other machines of it may be dialled for logs, exec and port-forward */
  nodeNetwork?: string;
  /** the PodSecurity plugin's defaults and exemptions (--admission-control-config-file) */
  podSecurity?: PodSecurityConfig;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

export class ApiServer {
  readonly storage: ResourceStorage;
  readonly subresources = new Map<string, SubresourceHandler>();
  /** connect subresources reached with an HTTP upgrade, by `<plural>/<subresource>` */
  readonly upgrades = new Map<string, UpgradeHandler>();
  /** handlers of requests taken as they are, body read but not parsed (the proxy subresources); each answers whether it took the request */
  readonly rawHandlers: Array<(req: http.IncomingMessage, res: http.ServerResponse, user: UserInfo, body: Buffer) => boolean> = [];
  /** The HTTP server's hook for such requests, once the caller is authenticated. */
  readonly handleRaw = (req: http.IncomingMessage, res: http.ServerResponse, user: UserInfo, body: Buffer): boolean => this.rawHandlers.some((h) => h(req, res, user, body));
  /** stored kinds' own behaviour, by entryKey(group, plural) */
  readonly kindEntries = new Map<string, KindEntry>(KIND_ENTRIES);
  private readonly scale: ScaleSubresource;
  /** decides who may do what (Node, RBAC); absent, every authenticated caller may do anything */
  authorizer?: Authorizer;
  /** checks a bearer token for TokenReview: the user and the audiences it is valid for, or why not */
  tokenReviewer?: (token: string, audiences?: string[]) => Promise<{ user: UserInfo; audiences: string[] } | { error: string }>;
  /** non-resource paths served beside discovery and health (OIDC discovery) */
  readonly nonResourcePaths = new Map<string, () => ApiResponse>();

  /** Serves the kinds of stored CustomResourceDefinitions (started by start()). */
  readonly customResources: CustomResourceServing;

  constructor(
    public registry: Registry,
    readonly store: Store,
    readonly options: ApiServerOptions = {},
  ) {
    this.storage = new ResourceStorage(store, registry);
    this.scale = new ScaleSubresource(this.storage);
    this.customResources = new CustomResourceServing(this);
  }

  /** Replaces the registry (CustomResourceDefinitions came or went); requests from now on see the new one. */
  setRegistry(registry: Registry): void {
    this.registry = registry;
    this.storage.registry = registry;
  }

  /** Registers a handler for `<plural>/<subresource>` of the core or any group, e.g. "pods/binding". */
  addSubresource(resourceAndSub: string, h: SubresourceHandler): void {
    this.subresources.set(resourceAndSub, h);
  }

  /** Registers the upgrade side of a connect subresource, e.g. "pods/exec". */
  addUpgrade(resourceAndSub: string, h: UpgradeHandler): void {
    this.upgrades.set(resourceAndSub, h);
  }

  /** The HTTP server's 'upgrade' event, once the caller is authenticated. */
  readonly handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer, user: UserInfo): void => {
    socket.on('error', () => {});
    const run = async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let parts: string[];
      try {
        parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw errors.badRequest(`malformed path ${JSON.stringify(url.pathname)}`);
      }
      let group: string;
      let version: string;
      let rest: string[];
      if (parts[0] === 'api') [group, version, rest] = ['', parts[1], parts.slice(2)];
      else if (parts[0] === 'apis') [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
      else throw notFoundPath(url.pathname);
      if (!version || !rest.length) throw notFoundPath(url.pathname);
      const route = this.route(group, version, rest, url.pathname);
      user = await this.authorizeRequest(user, req.method ?? 'GET', url.pathname, url.searchParams, req.headers);
      const h = route.subresource && this.upgrades.get(`${route.kind.group ? route.kind.group + '/' : ''}${route.kind.plural}/${route.subresource}`);
      if (!h || !route.name) throw errors.badRequest(`the resource ${url.pathname} does not support upgrading the connection`);
      await h({ req, socket, head, route, query: url.searchParams, user }, this);
    };
    run().catch((e: unknown) => writeUpgradeError(socket, e));
  };

  /**
   * Impersonation, then authorization, of a request by an authenticated user (upstream's
   * WithImpersonation and WithAuthorization filters): answers the user the request acts as,
   * or throws 403 Forbidden in upstream's words.
   */
  async authorizeRequest(user: UserInfo, method: string, path: string, query: URLSearchParams, headers: Record<string, string | string[] | undefined>): Promise<UserInfo> {
    if (!this.authorizer) return user;
    const asked = impersonationHeaders(headers);
    const acting = asked ? await impersonate(this.authorizer, user, asked) : user;
    const attrs = requestAttributes(acting, method, path, query);
    const answer = await this.authorizer.authorize(attrs);
    if (answer.decision !== 'allow') throw forbidden(attrs, answer.reason);
    return acting;
  }

  readonly handle = async (req: ApiRequest): Promise<ApiResponse> => {
    try {
      if (req.user && this.authorizer) req = { ...req, user: await this.authorizeRequest(req.user, req.method, req.path, req.query, req.headers) };
      return await this.dispatch(req);
    } catch (e) {
      return errorResponse(e);
    }
  };

  private async dispatch(req: ApiRequest): Promise<ApiResponse> {
    const path = req.path.length > 1 && req.path.endsWith('/') && !req.path.includes('/proxy') ? req.path.slice(0, -1) : req.path;
    if (req.bodyBytes !== undefined && req.bodyBytes > MAX_BODY_BYTES) {
      throw errors.requestEntityTooLarge(`limit is ${MAX_BODY_BYTES}`);
    }
    switch (path) {
      case '/version':
        return json(200, SERVER_VERSION);
      case '/healthz':
      case '/livez':
        return text(200, 'ok');
      case '/readyz':
        return this.readyz(req);
      case '/api':
        return this.discoveryRoot(req, true);
      case '/apis':
        return this.discoveryRoot(req, false);
      case '/openapi/v2':
        return this.openapiV2(req);
      case '/openapi/v3':
        return json(200, openApiV3Index(this.registry));
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiV3DocumentJson(this.registry, path.slice('/openapi/v3/'.length));
      if (doc === undefined) throw notFoundPath(path);
      return { status: 200, body: doc, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, immutable' } };
    }
    const extra = this.nonResourcePaths.get(path);
    if (extra) return extra();
    if (path.startsWith('/healthz/') || path.startsWith('/livez/') || path.startsWith('/readyz/')) return text(200, 'ok');

    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
      if (group && !version) {
        const g = apiGroup(this.registry, group);
        if (!g) throw notFoundPath(path);
        return json(200, g);
      }
    } else {
      throw notFoundPath(path);
    }
    if (!version) throw notFoundPath(path);
    if (rest.length === 0) {
      const list = apiResourceList(this.registry, group, version);
      if (!list) throw notFoundPath(path);
      return json(200, list);
    }
    const route = this.route(group, version, rest, path);
    if (route.kind.custom) customResourceMediaTypes(req);
    // Existence before media type, as upstream: an unknown subresource is 404 even with a bad body.
    if (req.bodyError !== undefined && (!route.subresource || this.hasSubresource(route))) throw req.bodyError;
    const res = await this.serveResource(req, route);
    // every request to a deprecated version of a custom kind carries its warning, as upstream
    const deprecated = route.kind.custom?.deprecationWarning;
    if (deprecated && !(res.warnings ?? []).includes(deprecated)) res.warnings = [deprecated, ...(res.warnings ?? [])];
    return res;
  }

  private route(group: string, version: string, rest: string[], path: string): ResourceRoute {
    let watch = false;
    if (rest[0] === 'watch') {
      watch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && this.registry.resource(group, version, rest[2])) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const kind = this.registry.resource(group, version, rest[0]);
    if (!kind) throw notFoundPath(path);
    if (namespace !== undefined && !kind.namespaced) throw notFoundPath(path);
    return { kind, namespace, name: rest[1], subresource: rest[2], subpath: rest.slice(3).join('/'), watch };
  }

  private hasSubresource({ kind, subresource }: ResourceRoute): boolean {
    return (
      this.subresources.has(`${kind.group ? kind.group + '/' : ''}${kind.plural}/${subresource}`) ||
      (subresource === 'status' && !!kind.subresources?.status) ||
      (subresource === 'scale' && !!kind.subresources?.scale) ||
      (subresource === 'ephemeralcontainers' && !!kind.subresources?.ephemeralContainers) ||
      !!(subresource && this.kindEntries.get(entryKey(kind.group, kind.plural))?.subresources?.[subresource])
    );
  }

  private async serveResource(req: ApiRequest, route: ResourceRoute): Promise<ApiResponse> {
    const { kind, namespace, name, subresource } = route;
    if (kind.conversion) return serveConverted(this, req, route, (r, rt) => this.serveResource(r, rt));
    const q = req.query;
    if (kind.readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
      const verb = req.method === 'POST' ? 'create' : req.method === 'PUT' ? 'update' : req.method === 'PATCH' ? 'patch' : name ? 'delete' : 'deletecollection';
      const e = errors.methodNotSupported(resourceRef(kind), verb);
      throw new ApiError(405, 'MethodNotAllowed', `${e.message}: ${kind.readOnly}`, e.details);
    }
    const ctx = writeContext(req);

    const entry = this.kindEntries.get(entryKey(kind.group, kind.plural));
    if (entry?.reads) return this.serveReads(req, route, entry.reads);
    // the review kinds are only ever created
    if (entry?.create && (name || subresource || req.method !== 'POST')) throw errors.methodNotSupported(resourceRef(kind), req.method.toLowerCase());
    if (subresource) {
      const custom = this.subresources.get(`${kind.group ? kind.group + '/' : ''}${kind.plural}/${subresource}`) ?? entry?.subresources?.[subresource];
      if (custom) return custom(req, route, this);
      if (subresource === 'status' && kind.subresources?.status) return this.serveObject(req, route, ctx, 'status');
      if (subresource === 'ephemeralcontainers' && kind.subresources?.ephemeralContainers) return this.serveObject(req, route, ctx, 'ephemeralcontainers');
      if (subresource === 'scale' && kind.subresources?.scale) return this.scale.serve(req, kind, namespace, name!, { ...ctx, managerSubresource: 'scale' });
      throw notFoundPath(req.path);
    }

    if (!name) {
      switch (req.method) {
        case 'GET':
          if (route.watch || queryBool(q.get('watch'))) return this.watch(req, route);
          return this.list(req, route);
        case 'POST': {
          if (kind.namespaced && namespace === undefined) throw errors.methodNotSupported(resourceRef(kind), 'create');
          if (kind.custom?.terminating) throw new ApiError(405, 'MethodNotAllowed', 'create not allowed while custom resource definition is terminating');
          if (entry?.create) return entry.create(this, req, route);
          validateWriteOptions(req.query, 'CreateOptions');
          this.validateFields(req, kind, ctx);
          const created = await this.storage.create(kind, namespace, req.body, ctx);
          return withWarnings(json(201, fresh(created)), ctx);
        }
        case 'DELETE':
          if (entry?.unsupportedVerbs?.includes('deletecollection')) throw methodNotAllowed();
          return this.deleteCollection(req, route, ctx);
        default:
          throw errors.methodNotSupported(resourceRef(kind), req.method.toLowerCase());
      }
    }
    if (route.watch) return this.watch(req, { ...route, name: undefined }, name);
    return this.serveObject(req, route, ctx);
  }

  /** A resource computed on each read, never stored (metrics.k8s.io): get and list only. */
  private async serveReads(req: ApiRequest, route: ResourceRoute, reads: NonNullable<KindEntry['reads']>): Promise<ApiResponse> {
    const { kind, name, subresource } = route;
    if (subresource) throw notFoundPath(req.path);
    const watching = route.watch || queryBool(req.query.get('watch'));
    if (req.method !== 'GET' || watching) {
      const verb = watching ? 'watch' : req.method === 'POST' ? 'create' : req.method === 'PUT' ? 'update' : req.method === 'PATCH' ? 'patch' : name ? 'delete' : 'deletecollection';
      throw errors.methodNotSupported(resourceRef(kind), verb);
    }
    const items = name ? [await reads.get(this, req, route)] : await reads.list(this, req, route);
    if (wantsTable(req.headers.accept)) return tableResponse(toTable(kind, items, includeObject(req), { resourceVersion: '' }));
    if (name) return json(200, items[0]);
    return json(200, { kind: `${kind.kind}List`, apiVersion: kindApiVersion(kind), metadata: {}, items });
  }

  /** GET / PUT / PATCH / DELETE of one object (or its status / namespace finalize). */
  private async serveObject(req: ApiRequest, route: ResourceRoute, ctx: WriteContext, sub?: string): Promise<ApiResponse> {
    const { kind, namespace, name } = route;
    const n = name!;
    switch (req.method) {
      case 'GET': {
        // "not older than" a resourceVersion this server has not reached: upstream's 504 after a short wait
        const rv = req.query.get('resourceVersion');
        if (rv && rv !== '0') await this.storage.awaitRevision(parseRV(rv));
        const obj = await this.storage.get(kind, namespace, n);
        if (wantsTable(req.headers.accept)) {
          return tableResponse(toTable(kind, [obj], includeObject(req), { resourceVersion: obj.metadata.resourceVersion }));
        }
        return json(200, fresh(obj));
      }
      case 'PUT': {
        validateWriteOptions(req.query, 'UpdateOptions');
        this.validateFields(req, kind, ctx);
        const updated = await this.storage.update(kind, namespace, n, req.body, ctx, sub);
        return withWarnings(json(200, fresh(updated)), ctx);
      }
      case 'PATCH':
        return this.patch(req, route, ctx, sub);
      case 'DELETE': {
        if (sub) throw errors.methodNotSupported(resourceRef(kind), 'delete');
        const options = deleteOptions(req, ctx);
        const entry = this.kindEntries.get(entryKey(kind.group, kind.plural));
        if (entry?.deleteOne) return json(200, await entry.deleteOne(this, namespace, n, options, ctx));
        const res = await this.storage.delete(kind, namespace, n, options, ctx);
        if (kind.returnDeletedObject || !res.removed) return json(200, res.object);
        const status: Status = {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: n, group: kind.group || undefined, kind: kind.plural, uid: res.object.metadata.uid },
        };
        if (!status.details!.group) delete status.details!.group;
        return json(200, status);
      }
      default:
        throw errors.methodNotSupported(resourceRef(kind), req.method.toLowerCase());
    }
  }

  private async patch(req: ApiRequest, route: ResourceRoute, ctx: WriteContext, sub?: string): Promise<ApiResponse> {
    const { kind, namespace, name } = route;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const body = req.body;
    if (contentType === CONTENT.applyPatch) {
      const res = await serverSideApply(this.storage, req, kind, namespace, name!, ctx, sub);
      return withWarnings(json(res.created ? 201 : 200, res.object), ctx);
    }
    if (![CONTENT.mergePatch, CONTENT.jsonPatch, CONTENT.strategicPatch].includes(contentType as any)) {
      throw errors.unsupportedMediaType([...PATCH_CONTENT_TYPES]);
    }
    // custom resources have no Go types to merge strategically by: upstream refuses it
    if (kind.custom && contentType === CONTENT.strategicPatch) throw errors.unsupportedMediaType([CONTENT.jsonPatch, CONTENT.mergePatch, CONTENT.applyPatch]);
    validatePatchOptions(req.query, false);
    const schema = this.registry.schema(kind);
    const mode = fieldValidationMode(req.query);
    const fieldWarnings = new Set<string>();
    // the HTTP front end hands patches over as raw text, so the patch code reports syntax errors as upstream does
    const parsed = typeof body === 'string' ? tryParse(body) : body;
    const wantRV = isPlainObject(parsed) && isPlainObject(parsed.metadata) ? (parsed.metadata.resourceVersion as string | undefined) : undefined;
    // A status patch that names only status and metadata (what node agents and controllers
    // send) is applied to a copy of those two alone: a status write keeps nothing else of the
    // patched object (prepareUpdate), so spec and the rest stay shared with the current object
    // rather than copied for each write.
    const statusOnly =
      sub === 'status' && !kind.custom && contentType !== CONTENT.jsonPatch && isPlainObject(parsed) && Object.keys(parsed).every((k) => k === 'status' || k === 'metadata');
    const updated = await this.storage.guaranteedUpdate(
      kind,
      namespace,
      name!,
      (current) => {
        const patched = statusOnly
          ? applyClientPatch(contentType, statusView(current), body, schema, this.registry.definitions, true)
          : applyClientPatch(contentType, current, body, schema, this.registry.definitions);
        if (wantRV && wantRV !== current.metadata.resourceVersion) throw errors.modified(resourceRef(kind), name!);
        if (!isPlainObject(patched) || !isPlainObject(patched.metadata)) throw errors.badRequest('the patch produced an object without metadata');
        const text = contentType === CONTENT.jsonPatch ? undefined : body;
        return decodePatchedObject(patched, kind, this.registry, mode, fieldWarnings, patchShown(contentType, body, patched), current, text);
      },
      ctx,
      sub,
      // the patch is applied to a copy (applyPatch leaves `current` as it is)
      true,
    );
    ctx.warnings?.push(...fieldWarnings);
    return withWarnings(json(200, fresh(updated)), ctx);
  }

  private async list(req: ApiRequest, route: ResourceRoute): Promise<ApiResponse> {
    const q = req.query;
    const list = await this.storage.list(route.kind, route.namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      limit: q.get('limit') ? Number(q.get('limit')) : undefined,
      continue: q.get('continue') ?? undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    });
    if (wantsTable(req.headers.accept)) {
      return tableResponse(toTable(route.kind, list.items, includeObject(req), list.metadata));
    }
    // decoded from the store for this response alone: an in-process caller may keep it as it is
    unsharedResponses.add(list);
    return json(200, list);
  }

  private async watch(req: ApiRequest, route: ResourceRoute, legacyName?: string): Promise<ApiResponse> {
    const q = req.query;
    let fieldSelector = q.get('fieldSelector') ?? undefined;
    if (legacyName) fieldSelector = [fieldSelector, `metadata.name=${legacyName}`].filter(Boolean).join(',');
    const opts: WatchOptions = {
      resourceVersion: q.get('resourceVersion') ?? undefined,
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector,
      allowWatchBookmarks: queryBool(q.get('allowWatchBookmarks')),
      timeoutSeconds: q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
      sendInitialEvents: q.has('sendInitialEvents') ? queryBool(q.get('sendInitialEvents')) : undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
      bookmarkIntervalMs: this.options.bookmarkIntervalMs,
    };
    const table = wantsTable(req.headers.accept);
    const include = includeObject(req);
    const format = table
      ? (obj: KubeObject, first: boolean) => toTable(route.kind, [obj], include, { resourceVersion: obj.metadata.resourceVersion }, first)
      : (obj: KubeObject) => obj;
    validateWatchOptions(opts);
    await awaitWatchRevision(this.storage, opts);
    const watched = watchResource(this.storage, route.kind, route.namespace, opts, format);
    const stream = route.kind.custom ? this.customResources.track(route.kind.custom.crd, watched) : watched;
    return {
      status: 200,
      headers: { 'Content-Type': table ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : 'application/json' },
      stream,
    };
  }

  private async deleteCollection(req: ApiRequest, route: ResourceRoute, ctx: WriteContext): Promise<ApiResponse> {
    const { kind, namespace } = route;
    const q = req.query;
    const list = await this.storage.list(kind, namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
    });
    const options = deleteOptions(req, ctx);
    const deleted: KubeObject[] = [];
    for (const item of list.items) {
      try {
        const res = await this.storage.delete(kind, item.metadata.namespace, item.metadata.name!, clone(options), ctx);
        deleted.push(res.object);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return json(200, { ...this.storage.listOf(kind, deleted, Number(list.metadata.resourceVersion)) });
  }

  private validateFields(req: ApiRequest, kind: AnyKindDef, ctx: WriteContext): void {
    // the body in the kind's shape, with fieldValidation applied (field-validation.ts)
    req.body = decodeWriteBody(req.body, kind, this.registry, fieldValidationMode(req.query), ctx.warnings);
  }

  private async readyz(req: ApiRequest): Promise<ApiResponse> {
    const checks: Array<{ name: string; ok: boolean }> = [{ name: 'ping', ok: true }];
    try {
      await this.store.revision();
      checks.push({ name: 'store', ok: true });
    } catch {
      checks.push({ name: 'store', ok: false });
    }
    for (const c of this.options.readyChecks ?? []) checks.push({ name: c.name, ok: c.check() });
    const ok = checks.every((c) => c.ok);
    if (!req.query.has('verbose')) return text(ok ? 200 : 500, ok ? 'ok' : 'readyz check failed');
    const lines = checks.map((c) => (c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: reason withheld`));
    lines.push(ok ? 'readyz check passed' : 'readyz check failed');
    return text(ok ? 200 : 500, lines.join('\n') + '\n');
  }

  private discoveryRoot(req: ApiRequest, legacy: boolean): ApiResponse {
    const v = aggregatedVersionWanted(req.headers.accept);
    if (v) {
      return json(200, aggregatedDiscovery(this.registry, legacy, v), {
        'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
      });
    }
    if (legacy) return json(200, apiVersions(this.options.serverAddress ?? '127.0.0.1:6443'));
    return json(200, apiGroupList(this.registry));
  }

  private openapiV2(req: ApiRequest): ApiResponse {
    const accept = req.headers.accept ?? '';
    if (accept.includes('protobuf')) {
      return {
        status: 200,
        headers: { 'Content-Type': OPENAPI_V2_PROTOBUF_CONTENT_TYPE },
        body: openApiV2Protobuf(this.registry),
      };
    }
    return json(200, openApiV2Json(this.registry));
  }
}

/* ---------- helpers ---------- */

/** The object a status-only patch is applied to: its own top level, metadata and status; the rest is current's. */
function statusView(current: KubeObject): KubeObject {
  const view: KubeObject = { ...current, metadata: clone(current.metadata) };
  if (Object.hasOwn(current, 'status')) view.status = clone(current.status);
  return view;
}

/**
 * A patch the merge code cannot apply is the client's error, whatever the code threw.
 * (Upstream answers a few strategic merge patch failures, e.g. mixed list element types or a
 * missing merge key, with a 500; they are bad requests.)
 */
function applyClientPatch(contentType: string, current: KubeObject, body: unknown, schema: Schema, defs: Definitions, ownsCurrent = false): KubeObject {
  try {
    return applyPatch(contentType, current, body, schema, defs, ownsCurrent) as KubeObject;
  } catch (e) {
    if (e instanceof ApiError && e.code < 500) throw e;
    throw errors.badRequest(e instanceof Error ? e.message : String(e));
  }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A boolean query parameter as upstream converts it (Convert_Slice_string_To_bool): absent,
 * "0" and any case of "false" are false; every other value, the empty one included, is true
 * (so the Python client's `watch=True` watches).
 */
export function queryBool(v: string | null): boolean {
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

function writeContext(req: ApiRequest): WriteContext {
  const dry = req.query.getAll('dryRun');
  for (const d of dry) {
    if (d !== 'All') throw errors.invalid({ group: '', resource: 'DryRun', kind: 'DryRun' }, '', [{ type: 'FieldValueNotSupported', field: 'dryRun', value: d, detail: 'supported values: "All"' }]);
  }
  return { dryRun: dry.length > 0, fieldManager: managerName(req.query.get('fieldManager'), req.headers['user-agent']), user: req.user, warnings: [], auditAnnotations: req.auditAnnotations };
}

/**
 * DeleteOptions from the body (JSON, or protobuf decoded to the same shape) and the query;
 * a dry run asked for in either makes the whole request a dry run.
 */
function deleteOptions(req: ApiRequest, ctx: WriteContext): DeleteOptions {
  const o: DeleteOptions = isPlainObject(req.body) ? (clone(req.body) as DeleteOptions) : {};
  const q = req.query;
  if (q.has('gracePeriodSeconds')) {
    const raw = q.get('gracePeriodSeconds')!;
    if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
    o.gracePeriodSeconds = Number(raw);
  }
  if (q.has('propagationPolicy')) o.propagationPolicy = q.get('propagationPolicy')!;
  if (q.has('orphanDependents')) o.orphanDependents = queryBool(q.get('orphanDependents'));
  if (q.has('dryRun')) o.dryRun = q.getAll('dryRun');
  if (o.dryRun !== undefined && o.dryRun !== null && !Array.isArray(o.dryRun)) {
    throw errors.badRequest(`json: cannot unmarshal ${typeof o.dryRun} into Go struct field DeleteOptions.dryRun of type []string`);
  }
  if (o.dryRun?.length) {
    for (const d of o.dryRun) {
      if (d !== 'All') throw errors.invalid({ group: '', resource: 'DeleteOptions', kind: 'DeleteOptions' }, '', [{ type: 'FieldValueNotSupported', field: 'dryRun', value: d, detail: 'supported values: "All"' }]);
    }
    ctx.dryRun = true;
  }
  return o;
}

function includeObject(req: ApiRequest): IncludeObject {
  const v = req.query.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers: { 'Content-Type': 'application/json', ...headers } };
}

function text(status: number, body: string): ApiResponse {
  return { status, body, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
}

function tableResponse(t: unknown): ApiResponse {
  return json(200, t, { 'Content-Type': 'application/json;as=Table;v=v1;g=meta.k8s.io' });
}

/**
 * An object the storage made for this request alone (decoded from the store, or the request's
 * own body it took over; the store keeps only encodings): an in-process caller may keep it
 * without a copy.
 */
function fresh<T extends object>(obj: T): T {
  unsharedResponses.add(obj);
  return obj;
}

function withWarnings(res: ApiResponse, ctx: WriteContext): ApiResponse {
  if (ctx.warnings?.length) res.warnings = ctx.warnings;
  return res;
}

/** A verb the resource does not serve (upstream's router answers so). */
function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function notFoundPath(path: string): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: `404 page not found: ${path}` }] });
}

/** An error answer written on a connection that was not (yet) upgraded. */
export function writeUpgradeError(socket: Duplex, e: unknown): void {
  const res = errorResponse(e);
  answerUpgradeAndClose(socket, res.status, 'application/json', JSON.stringify(res.body));
}

/** An answer other than 101 to an upgrade request, after which the connection closes. */
export function answerUpgradeAndClose(socket: Duplex, status: number, contentType: string, body: string): void {
  if (socket.destroyed || !socket.writable) return;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function errorResponse(e: unknown): ApiResponse {
  const known = e instanceof ApiError ? e : storeErrorToApi(e);
  const err = known ?? errors.internal(e);
  if (!known) console.error('petset: internal error:', e);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (err.details?.retryAfterSeconds) headers['Retry-After'] = String(err.details.retryAfterSeconds);
  return { status: err.code, body: err.toStatus(), headers };
}

/**
 * Custom resources are JSON (and YAML) only, as upstream: a protobuf body is 415, and a client
 * that accepts nothing but protobuf gets 406.
 */
function customResourceMediaTypes(req: ApiRequest): void {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (req.method !== 'PATCH' && contentType === CONTENT.protobuf) throw errors.unsupportedMediaType([CONTENT.json, CONTENT.yaml]);
  const accept = req.headers.accept;
  if (!accept) return;
  const types = accept.split(',').map((p) => p.split(';')[0].trim().toLowerCase());
  if (types.length && types.every((t) => t === CONTENT.protobuf)) {
    throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml, application/json;stream=watch');
  }
}
