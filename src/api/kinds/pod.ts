// core/v1 Pod: defaults, validation (with upstream's messages), the create/update strategy,
// graceful deletion, selectable fields and kubectl's columns.
import { humanAge, isPlainObject, timestamp, type KubeObject } from '../object.js';
import { defaultPod } from '../pod-defaults.js';
import { QUANTITY_FORMAT_ERROR, tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import {
  field,
  isDNS1123Label,
  isDNS1123Subdomain,
  type FieldError,
} from '../validation.js';

type Obj = Record<string, any>;

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';
const HANDLER_KEYS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

export interface PodSpecValidationOptions {
  /** Pods need an image; templates may leave it for tools to fill in. */
  requireImage: boolean;
  /** Volumes that exist without being listed, e.g. a StatefulSet's claim templates. */
  implicitVolumes?: string[];
}

/** ValidatePodSpec: the checks shared by Pods and pod templates. */
export function validatePodSpec(spec: Obj, path: string, opts: PodSpecValidationOptions): FieldError[] {
  const errs: FieldError[] = [];
  const volumes = validateVolumes(list(spec.volumes), `${path}.volumes`, errs);
  for (const name of opts.implicitVolumes ?? []) volumes.add(name);

  const names = new Set<string>();
  const containers = list(spec.containers);
  if (!containers.length) errs.push(field.required(`${path}.containers`));
  list(spec.initContainers).forEach((c, i) => validateContainer(c, `${path}.initContainers[${i}]`, names, volumes, opts, true, errs));
  containers.forEach((c, i) => validateContainer(c, `${path}.containers[${i}]`, names, volumes, opts, false, errs));

  if (!spec.restartPolicy) errs.push(field.required(`${path}.restartPolicy`));
  else if (!RESTART_POLICIES.includes(spec.restartPolicy)) {
    errs.push(field.notSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  }
  if (!spec.dnsPolicy) errs.push(field.required(`${path}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(spec.dnsPolicy)) errs.push(field.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  else if (spec.dnsPolicy === 'None' && !isPlainObject(spec.dnsConfig)) {
    errs.push(field.required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  for (const key of ['hostname', 'subdomain']) {
    if (spec[key]) for (const m of isDNS1123Label(spec[key])) errs.push(field.invalid(`${path}.${key}`, spec[key], m));
  }
  for (const key of ['nodeName', 'serviceAccountName']) {
    if (spec[key]) for (const m of isDNS1123Subdomain(spec[key])) errs.push(field.invalid(`${path}.${key}`, spec[key], m));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    const v = spec.activeDeadlineSeconds;
    if (typeof v !== 'number' || v < 1 || v > 2147483647) {
      errs.push(field.invalid(`${path}.activeDeadlineSeconds`, v, 'must be between 1 and 2147483647, inclusive'));
    }
  }
  return errs;
}

function validateVolumes(volumes: Obj[], path: string, errs: FieldError[]): Set<string> {
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (!v.name) errs.push(field.required(`${p}.name`));
    else {
      for (const m of isDNS1123Label(v.name)) errs.push(field.invalid(`${p}.name`, v.name, m));
      if (names.has(v.name)) errs.push(field.duplicate(`${p}.name`, v.name));
      names.add(v.name);
    }
    const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
    if (!sources.length) errs.push(field.required(p, 'must specify a volume type'));
    for (const extra of sources.slice(1)) errs.push(field.forbidden(`${p}.${extra}`, 'may not specify more than 1 volume type'));
    const required: Record<string, string> = {
      hostPath: 'path',
      persistentVolumeClaim: 'claimName',
      nfs: 'server',
      csi: 'driver',
    };
    for (const [source, key] of Object.entries(required)) {
      if (isPlainObject(v[source]) && !v[source][key]) errs.push(field.required(`${p}.${source}.${key}`));
    }
    if (isPlainObject(v.nfs) && !v.nfs.path) errs.push(field.required(`${p}.nfs.path`));
    for (const source of ['secret', 'configMap', 'downwardAPI', 'projected']) {
      const mode = v[source]?.defaultMode;
      if (typeof mode === 'number' && (mode < 0 || mode > 0o777)) {
        errs.push(field.invalid(`${p}.${source}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
      }
    }
  });
  return names;
}

function validateContainer(
  c: Obj,
  p: string,
  names: Set<string>,
  volumes: Set<string>,
  opts: PodSpecValidationOptions,
  init: boolean,
  errs: FieldError[],
): void {
  if (!c.name) errs.push(field.required(`${p}.name`));
  else {
    for (const m of isDNS1123Label(c.name)) errs.push(field.invalid(`${p}.name`, c.name, m));
    if (names.has(c.name)) errs.push(field.duplicate(`${p}.name`, c.name));
    names.add(c.name);
  }
  if (opts.requireImage && !c.image) errs.push(field.required(`${p}.image`));
  if (c.imagePullPolicy && !PULL_POLICIES.includes(c.imagePullPolicy)) {
    errs.push(field.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  }
  if (c.terminationMessagePolicy && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(field.notSupported(`${p}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
  }

  const portNames = new Set<string>();
  list(c.ports).forEach((port, i) => {
    const pp = `${p}.ports[${i}]`;
    if (!port.containerPort) errs.push(field.required(`${pp}.containerPort`));
    else if (!validPort(port.containerPort)) errs.push(field.invalid(`${pp}.containerPort`, port.containerPort, PORT_RANGE_MSG));
    if (port.hostPort && !validPort(port.hostPort)) errs.push(field.invalid(`${pp}.hostPort`, port.hostPort, PORT_RANGE_MSG));
    if (!port.protocol) errs.push(field.required(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    if (port.name) {
      for (const m of portNameProblems(port.name)) errs.push(field.invalid(`${pp}.name`, port.name, m));
      if (portNames.has(port.name)) errs.push(field.duplicate(`${pp}.name`, port.name));
      portNames.add(port.name);
    }
  });

  list(c.env).forEach((e, i) => {
    const ep = `${p}.env[${i}]`;
    if (!e.name) errs.push(field.required(`${ep}.name`));
    else if (!/^[ -<>-~]+$/.test(e.name)) {
      errs.push(field.invalid(`${ep}.name`, e.name, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    }
    if (isPlainObject(e.valueFrom)) {
      const set = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter((k) => e.valueFrom[k]);
      if (e.value) errs.push(field.invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      if (!set.length) {
        errs.push(field.invalid(`${ep}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      } else if (set.length > 1) {
        errs.push(field.invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'));
      }
    }
  });

  const mountPaths = new Set<string>();
  list(c.volumeMounts).forEach((m, i) => {
    const mp = `${p}.volumeMounts[${i}]`;
    if (!m.name) errs.push(field.required(`${mp}.name`));
    else if (!volumes.has(m.name)) errs.push(field.notFound(`${mp}.name`, m.name));
    if (!m.mountPath) errs.push(field.required(`${mp}.mountPath`));
    else if (mountPaths.has(m.mountPath)) errs.push(field.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
    else mountPaths.add(m.mountPath);
  });

  const sidecar = init && c.restartPolicy === 'Always';
  if (init && c.restartPolicy !== undefined && c.restartPolicy !== 'Always') {
    errs.push(field.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
  }
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle']) {
    if (c[key] === undefined || c[key] === null) continue;
    if (init && !sidecar) errs.push(field.forbidden(`${p}.${key}`, 'may not be set for init containers without restartPolicy=Always'));
    else if (key !== 'lifecycle') validateProbe(c[key], `${p}.${key}`, key !== 'readinessProbe', errs);
  }
  validateResources(c.resources, `${p}.resources`, errs);
}

function validateProbe(probe: Obj, p: string, mustSucceedOnce: boolean, errs: FieldError[]): void {
  const handlers = HANDLER_KEYS.filter((k) => probe[k] !== undefined && probe[k] !== null);
  if (!handlers.length) errs.push(field.required(p, 'must specify a handler type'));
  for (const extra of handlers.slice(1)) errs.push(field.forbidden(`${p}.${extra}`, 'may not specify more than 1 handler type'));
  for (const key of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (typeof probe[key] === 'number' && probe[key] < 0) errs.push(field.invalid(`${p}.${key}`, probe[key], 'must be greater than or equal to 0'));
  }
  if (mustSucceedOnce && typeof probe.successThreshold === 'number' && probe.successThreshold !== 1) {
    errs.push(field.invalid(`${p}.successThreshold`, probe.successThreshold, 'must be 1'));
  }
  for (const key of ['httpGet', 'tcpSocket']) {
    const port = probe[key]?.port;
    if (port === undefined) continue;
    const problems = typeof port === 'number' ? (validPort(port) ? [] : [PORT_RANGE_MSG]) : portNameProblems(String(port));
    for (const m of problems) errs.push(field.invalid(`${p}.${key}.port`, port, m));
  }
  const scheme = probe.httpGet?.scheme;
  if (scheme && !['HTTP', 'HTTPS'].includes(scheme)) errs.push(field.notSupported(`${p}.httpGet.scheme`, scheme, ['HTTP', 'HTTPS']));
}

function validateResources(res: unknown, p: string, errs: FieldError[]): void {
  if (!isPlainObject(res)) return;
  const limits = isPlainObject(res.limits) ? res.limits : {};
  const requests = isPlainObject(res.requests) ? res.requests : {};
  for (const [kind, values] of [
    ['limits', limits],
    ['requests', requests],
  ] as const) {
    for (const [name, q] of Object.entries(values)) {
      const n = tryParseQuantity(q)?.nanos;
      if (n === undefined) errs.push(field.invalid(`${p}.${kind}[${name}]`, q, QUANTITY_FORMAT_ERROR));
      else if (n < 0n) errs.push(field.invalid(`${p}.${kind}[${name}]`, String(q), 'must be greater than or equal to 0'));
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    if (!(name in limits)) continue;
    const r = tryParseQuantity(q)?.nanos;
    const l = tryParseQuantity(limits[name])?.nanos;
    if (r !== undefined && l !== undefined && r > l) {
      errs.push(field.invalid(`${p}.requests`, String(q), `must be less than or equal to ${name} limit of ${limits[name]}`));
    }
  }
}

function validPort(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** IsValidPortName: an IANA service name. */
function portNameProblems(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  else if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/* ---------- QoS ---------- */

/** Upstream ComputePodQOS over cpu and memory of all containers. */
export function podQOSClass(spec: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const res = isPlainObject(c.resources) ? c.resources : {};
    for (const [name, q] of Object.entries(isPlainObject(res.requests) ? res.requests : {})) {
      const v = computeResource(name, q);
      if (v !== undefined) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(isPlainObject(res.limits) ? res.limits : {})) {
      const v = computeResource(name, q);
      if (v === undefined) continue;
      found.add(name);
      limits.set(name, (limits.get(name) ?? 0n) + v);
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (!requests.size && !limits.size) return 'BestEffort';
  if (guaranteed) {
    for (const [name, r] of requests) if (limits.get(name) !== r) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

/** cpu and memory amounts above zero; everything else does not count for QoS. */
function computeResource(name: string, q: unknown): bigint | undefined {
  if (name !== 'cpu' && name !== 'memory') return undefined;
  const v = tryParseQuantity(q)?.nanos;
  return v !== undefined && v > 0n ? v : undefined;
}

/* ---------- ephemeral containers ---------- */

/** What an ephemeral container may not set: it gets no guarantees, no ports, no probes, no hooks. */
const EPHEMERAL_FORBIDDEN = ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resources', 'resizePolicy', 'restartPolicy'];
const NOT_FOR_EPHEMERAL = 'cannot be set for an Ephemeral Container';

/** The ephemeral containers of a spec, as the ephemeralcontainers subresource checks them. */
function validateEphemeralContainers(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const volumes = new Set(list(spec.volumes).map((v) => v.name));
  const targets = new Set([...list(spec.initContainers), ...list(spec.containers)].map((c) => c.name));
  const names = new Set(targets);
  list(spec.ephemeralContainers).forEach((c, i) => {
    const p = `${path}.ephemeralContainers[${i}]`;
    const common: Obj = { ...c };
    for (const key of EPHEMERAL_FORBIDDEN) {
      if (isEmpty(c[key])) continue;
      errs.push(field.forbidden(`${p}.${key}`, NOT_FOR_EPHEMERAL));
      delete common[key];
    }
    validateContainer(common, p, names, volumes, { requireImage: true }, false, errs);
    list(c.volumeMounts).forEach((m, j) => {
      if (m.subPath) errs.push(field.forbidden(`${p}.volumeMounts[${j}].subPath`, NOT_FOR_EPHEMERAL));
    });
    if (c.targetContainerName && !targets.has(c.targetContainerName)) errs.push(field.notFound(`${p}.targetContainerName`, c.targetContainerName));
  });
  return errs;
}

/** A write through pods/ephemeralcontainers: new ones are checked; those already there may neither change nor go. */
function validateEphemeralContainersUpdate(pod: KubeObject, old: KubeObject): FieldError[] {
  const spec: Obj = isPlainObject(pod.spec) ? pod.spec : {};
  const errs = validateEphemeralContainers(spec, 'spec');
  const now = new Map(list(spec.ephemeralContainers).map((c) => [c.name, c]));
  for (const before of list(old.spec?.ephemeralContainers)) {
    const after = now.get(before.name);
    if (!after) errs.push(field.forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(before.name)} may not be removed\n`));
    else if (!semanticEqual(before, after)) errs.push(field.forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(before.name)} may not be changed\n`));
  }
  return errs;
}

/* ---------- update rules ---------- */

const UPDATABLE_FIELDS =
  '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function validatePodUpdate(pod: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec: Obj = isPlainObject(pod.spec) ? pod.spec : {};
  const oldSpec: Obj = isPlainObject(old.spec) ? old.spec : {};

  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (typeof oldSpec.activeDeadlineSeconds === 'number' && oldSpec.activeDeadlineSeconds < ads) {
      errs.push(field.invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value'));
    }
  } else if (oldSpec.activeDeadlineSeconds !== undefined && oldSpec.activeDeadlineSeconds !== null) {
    errs.push(field.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }

  const tolerations = list(spec.tolerations);
  for (const t of list(oldSpec.tolerations)) {
    const same = tolerations.some((n) => semanticEqual({ ...t, tolerationSeconds: n.tolerationSeconds }, n));
    if (!same) {
      errs.push(field.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }

  // what may change is taken from the old spec; anything still different is forbidden
  const munged: Obj = structuredClone(spec);
  for (const key of ['containers', 'initContainers']) {
    const olds = list(oldSpec[key]);
    list(munged[key]).forEach((c, i) => {
      if (olds[i]) c.image = olds[i].image;
    });
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  munged.schedulingGates = oldSpec.schedulingGates;
  if (oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!semanticEqual(munged, oldSpec)) {
    errs.push(field.forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_FIELDS}\n${specDiff(oldSpec, munged)}`));
  }
  return errs;
}

/** A short rendering of what changed, in the spirit of upstream's cmp.Diff output. */
function specDiff(oldSpec: Obj, newSpec: Obj): string {
  const lines = ['  core.PodSpec{'];
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  for (const k of keys) {
    if (semanticEqual(oldSpec[k], newSpec[k])) continue;
    if (!isEmpty(oldSpec[k])) lines.push(`- \t${k}: ${JSON.stringify(oldSpec[k])},`);
    if (!isEmpty(newSpec[k])) lines.push(`+ \t${k}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }', '');
  return lines.join('\n');
}

/**
 * apimachinery's semantic equality, approximately: Go zero values ("" , [], {}, nil) equal an
 * absent field, and quantities compare by value.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  if (a === b) return true;
  if ((typeof a === 'string' || typeof a === 'number') && (typeof b === 'string' || typeof b === 'number')) {
    const qa = tryParseQuantity(a)?.nanos;
    return qa !== undefined && qa === tryParseQuantity(b)?.nanos;
  }
  return false;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isPlainObject(v) && Object.keys(v).every((k) => v[k] === undefined);
}

/* ---------- printing ---------- */

/** kubectl's STATUS column (upstream printPod). */
export function podStatusReason(pod: KubeObject): string {
  return podSummary(pod).reason;
}

function podSummary(pod: KubeObject): { reason: string; ready: number; total: number; restarts: number; lastRestart: number } {
  const spec: Obj = isPlainObject(pod.spec) ? pod.spec : {};
  const status: Obj = isPlainObject(pod.status) ? pod.status : {};
  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (list(status.conditions).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const initSpecs = list(spec.initContainers);
  const restartable = new Set(initSpecs.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  let total = list(spec.containers).length + restartable.size;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  let initializing = false;

  const initStatuses = list(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const finished = finishedAt(c);
    restarts += c.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, finished);
    const isSidecar = restartable.has(c.name);
    if (isSidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = Math.max(lastSidecarRestart, finished);
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (isSidecar && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated) {
      reason = terminated.reason
        ? `Init:${terminated.reason}`
        : terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${terminated.exitCode ?? 0}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  const initialized = list(status.conditions).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const terminated = c.state?.terminated;
      const waiting = c.state?.waiting;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = list(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  return { reason, ready, total, restarts, lastRestart };
}

function finishedAt(c: Obj): number {
  const t = c.lastState?.terminated?.finishedAt;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

function podCells(pod: KubeObject, now: number): unknown[] {
  const { reason, ready, total, restarts, lastRestart } = podSummary(pod);
  const restartsCell = restarts !== 0 && lastRestart ? `${restarts} (${humanAge(timestamp(new Date(lastRestart)), now)} ago)` : String(restarts);
  const spec: Obj = pod.spec ?? {};
  const status: Obj = pod.status ?? {};
  const gates = list(spec.readinessGates);
  const conditions = list(status.conditions);
  const gatesCell = gates.length
    ? `${gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name,
    `${ready}/${total}`,
    reason,
    restartsCell,
    humanAge(pod.metadata.creationTimestamp, now),
    list(status.podIPs)[0]?.ip || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gatesCell,
  ];
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isPlainObject) : [];
}

/* ---------- the kind ---------- */

export const podKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  definition: 'io.k8s.api.core.v1.Pod',
  subresources: { status: true, ephemeralContainers: true },
  tracksGeneration: true,
  returnDeletedObject: true,

  defaults: defaultPod,

  prepareForCreate(pod) {
    // the QoS class is computed from the defaulted requests, as upstream decodes (and defaults) first
    defaultPod(pod);
    pod.status = { phase: 'Pending', qosClass: podQOSClass(pod.spec) };
    if (list(pod.spec.schedulingGates).length) {
      pod.status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: timestamp(),
          reason: 'SchedulingGated',
          message: 'Scheduling is blocked due to non-empty scheduling gates',
        },
      ];
    }
  },

  validate(pod) {
    const spec = isPlainObject(pod.spec) ? pod.spec : {};
    return validatePodSpec(spec, 'spec', { requireImage: true });
  },

  validateUpdate: validatePodUpdate,
  validateEphemeralContainersUpdate,

  validateCreate(pod) {
    return list(pod.spec?.ephemeralContainers).length ? [field.forbidden('spec.ephemeralContainers', 'cannot be set on create')] : [];
  },

  gracePeriod(pod, requested) {
    let grace = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (!pod.spec?.nodeName) grace = 0;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') grace = 0;
    return grace < 0 ? 1 : grace;
  },

  fields: {
    'spec.nodeName': (p) => p.spec?.nodeName ?? '',
    'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
    'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (p) => String(p.spec?.hostNetwork === true),
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => list(p.status?.podIPs)[0]?.ip ?? '',
    'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
  },

  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: 'Unique name of the pod in its namespace.' },
      { name: 'Ready', type: 'string', description: 'Ready containers out of all containers (sidecars included).' },
      { name: 'Status', type: 'string', description: 'A one-word summary of the pod and its containers.' },
      { name: 'Restarts', type: 'string', description: 'Container restarts in total, and how long ago the last one happened.' },
      { name: 'Age', type: 'string', description: 'Time since the pod was created.' },
      { name: 'IP', type: 'string', priority: 1, description: 'Primary address of the pod.' },
      { name: 'Node', type: 'string', priority: 1, description: 'Node the pod is bound to.' },
      { name: 'Nominated Node', type: 'string', priority: 1, description: 'Node the pod is expected to land on after preemption.' },
      { name: 'Readiness Gates', type: 'string', priority: 1, description: 'Readiness gates that are True, out of all gates.' },
    ],
    cells: podCells,
  },
};
