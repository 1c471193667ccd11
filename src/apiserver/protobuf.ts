// Request bodies in Kubernetes protobuf (application/vnd.kubernetes.protobuf). client-go's typed
// clients send them, so every `kubectl create <generator>` (configmap, secret, namespace, service...)
// arrives in this form. We turn them into the exact JSON the same object would have, so the rest of
// the server only ever sees JSON.
//
// Wire layout: the magic "k8s\0", then a runtime.Unknown {1: typeMeta {1: apiVersion, 2: kind},
// 2: raw (the object's own message), 3: contentEncoding, 4: contentType}. Field numbers below come
// from the generated.proto files compiled into kubectl v1.32.
//
// Go writes every non-pointer field, even when empty, and pointer fields only when set; its JSON
// drops zero values of `omitempty` fields but always prints non-pointer structs. Each field below
// records which of these cases applies, so that decoding reproduces Go's JSON field for field.
import { ApiError, errors } from '../api/errors.js';

const MAGIC = Buffer.from('k8s\0', 'latin1');

/** Decodes a Kubernetes protobuf request body into the object's JSON form. */
export function decodeKubernetesProtobuf(body: Buffer): unknown {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw malformed(`provided data does not appear to be a protobuf message, expected prefix [${[...MAGIC].join(' ')}]`);
  }
  const unknown = readUnknown(body.subarray(MAGIC.length));
  if (unknown.contentEncoding) {
    throw unsupported(`protobuf bodies with content encoding "${unknown.contentEncoding}" are not supported`);
  }
  if (!unknown.kind) throw malformed("Object 'Kind' is missing in protobuf body");
  const type = KINDS[`${unknown.apiVersion}/${unknown.kind}`];
  if (!type) {
    const gvk = `${unknown.apiVersion || '(no apiVersion)'}, Kind=${unknown.kind}`;
    throw unsupported(`protobuf request bodies are not supported for ${gvk}`);
  }
  return { apiVersion: unknown.apiVersion, kind: unknown.kind, ...decodeMessage(type.spec, unknown.raw, unknown.kind) };
}

function malformed(detail: string): ApiError {
  return errors.badRequest(`unable to decode protobuf body: ${detail}`);
}

function unsupported(detail: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `${detail} - accepted media types include: application/json, application/yaml`);
}

/* ------------------------------------------------------------------ wire reader */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint');
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return value;
    }
    throw malformed('varint longer than 10 bytes');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (length > BigInt(this.buf.length - this.pos)) throw malformed('length-delimited field runs past the end of its message');
    const start = this.pos;
    this.pos += Number(length);
    return this.buf.subarray(start, this.pos);
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED64 || wireType === FIXED32) {
      const width = wireType === FIXED64 ? 8 : 4;
      if (this.pos + width > this.buf.length) throw malformed('truncated fixed-width field');
      this.pos += width;
    } else throw malformed(`unsupported wire type ${wireType}`);
  }

  /** Yields (field number, wire type) and leaves the reader at the field's value. */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = this.varint();
      const field = Number(key >> 3n);
      if (field === 0) throw malformed('field number 0');
      yield [field, Number(key & 7n)];
    }
  }
}

interface UnknownEnvelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
}

function readUnknown(buf: Buffer): UnknownEnvelope {
  const out: UnknownEnvelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '' };
  const r = new Reader(buf);
  for (const [field, wire] of r.fields()) {
    if (wire !== LENGTH_DELIMITED) r.skip(wire);
    else if (field === 1) {
      const tm = new Reader(r.bytes());
      for (const [f, w] of tm.fields()) {
        if (w !== LENGTH_DELIMITED) tm.skip(w);
        else if (f === 1) out.apiVersion = utf8(tm.bytes());
        else if (f === 2) out.kind = utf8(tm.bytes());
        else tm.skip(w);
      }
    } else if (field === 2) out.raw = r.bytes();
    else if (field === 3) out.contentEncoding = utf8(r.bytes());
    else r.skip(wire);
  }
  return out;
}

function utf8(b: Buffer): string {
  return b.toString('utf8');
}

/* ------------------------------------------------------------------ value types */

interface ValueType {
  wire: number;
  read(value: bigint | Buffer, path: string): unknown;
  /** What Go's JSON shows for a field that holds the zero value. */
  zero(): unknown;
}

const string: ValueType = { wire: LENGTH_DELIMITED, read: (b) => utf8(b as Buffer), zero: () => '' };
/** []byte: base64 in JSON */
const bytes: ValueType = { wire: LENGTH_DELIMITED, read: (b) => (b as Buffer).toString('base64'), zero: () => '' };
const bool: ValueType = { wire: VARINT, read: (v) => v !== 0n, zero: () => false };
const int32: ValueType = { wire: VARINT, read: (v) => Number(BigInt.asIntN(32, v as bigint)), zero: () => 0 };
const int64: ValueType = { wire: VARINT, read: (v) => Number(BigInt.asIntN(64, v as bigint)), zero: () => 0 };

/**
 * metav1.Time: {1: seconds, 2: nanos}. An empty message is the zero time (JSON null); nanos are
 * dropped, as the Go decoder does, because the JSON form has whole seconds.
 */
const time: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    const buf = b as Buffer;
    if (buf.length === 0) return null;
    let seconds = 0;
    const r = new Reader(buf);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) seconds = Number(BigInt.asIntN(64, r.varint()));
      else r.skip(wire);
    }
    const date = new Date(seconds * 1000);
    const year = date.getUTCFullYear();
    // RFC 3339 has four-digit years; Go's JSON encoder refuses the rest too.
    if (!(year >= 0 && year <= 9999)) throw malformed(`${path}: timestamp ${seconds} is out of range`);
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  },
  zero: () => null,
};

/** intstr.IntOrString: {1: type (0 int, 1 string), 2: intVal, 3: strVal}; JSON is the bare number or string. */
const intOrString: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    let type = 0n;
    let intVal = 0;
    let strVal = '';
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) type = r.varint();
      else if (field === 2 && wire === VARINT) intVal = Number(BigInt.asIntN(32, r.varint()));
      else if (field === 3 && wire === LENGTH_DELIMITED) strVal = utf8(r.bytes());
      else r.skip(wire);
    }
    if (type === 0n) return intVal;
    if (type === 1n) return strVal;
    throw malformed(`${path}: impossible IntOrString.Type ${type}`);
  },
  zero: () => 0,
};

/** metav1.FieldsV1 {1: Raw}: the raw bytes are the JSON itself. */
const fieldsV1: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    let raw: Buffer | undefined;
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === LENGTH_DELIMITED) raw = r.bytes();
      else r.skip(wire);
    }
    if (raw === undefined) return null;
    try {
      return JSON.parse(utf8(raw));
    } catch (e) {
      throw malformed(`${path}: ${(e as Error).message}`);
    }
  },
  zero: () => null,
};

/* ------------------------------------------------------------------ messages */

/**
 * omitempty: a non-pointer field tagged omitempty, left out of JSON when zero (lists and maps: when empty);
 * always:    a non-pointer field JSON always shows (untagged scalars, and every struct, Time included);
 * pointer:   shown exactly when it was on the wire, whatever its value.
 */
type Presence = 'omitempty' | 'always' | 'pointer';
type Shape = 'single' | 'list' | 'map';

interface FieldSpec {
  number: number;
  name: string;
  type: ValueType;
  shape: Shape;
  presence: Presence;
}

type MessageSpec = FieldSpec[];

interface MessageType extends ValueType {
  spec: MessageSpec;
}

type FieldDecl = [number, string, ValueType, Presence?] | [number, string, Collection];

interface Collection {
  shape: 'list' | 'map';
  of: ValueType;
}

const listOf = (of: ValueType): Collection => ({ shape: 'list', of });
/** map<string, T>: repeated entries {1: key, 2: value} */
const mapOf = (of: ValueType): Collection => ({ shape: 'map', of });

function message(...decls: FieldDecl[]): MessageType {
  const spec: MessageSpec = decls.map(([number, name, type, presence]) =>
    'shape' in type
      ? { number, name, type: type.of, shape: type.shape, presence: 'omitempty' }
      : { number, name, type, shape: 'single', presence: presence ?? 'omitempty' },
  );
  return {
    spec,
    wire: LENGTH_DELIMITED,
    read: (b, path) => decodeMessage(spec, b as Buffer, path),
    zero: () => decodeMessage(spec, Buffer.alloc(0), ''),
  };
}

function decodeMessage(spec: MessageSpec, buf: Buffer, path: string): Record<string, unknown> {
  const seen = new Map<FieldSpec, unknown>();
  const r = new Reader(buf);
  for (const [number, wire] of r.fields()) {
    const f = spec.find((s) => s.number === number);
    if (!f) {
      r.skip(wire);
      continue;
    }
    const fieldPath = `${path}.${f.name}`;
    const expected = f.shape === 'map' ? LENGTH_DELIMITED : f.type.wire;
    if (wire !== expected) throw malformed(`${fieldPath}: wire type ${wire}, expected ${expected}`);
    const raw = wire === VARINT ? r.varint() : r.bytes();
    if (f.shape === 'single') seen.set(f, f.type.read(raw, fieldPath));
    else if (f.shape === 'list') {
      const list = (seen.get(f) as unknown[] | undefined) ?? [];
      list.push(f.type.read(raw, `${fieldPath}[${list.length}]`));
      seen.set(f, list);
    } else {
      const map = (seen.get(f) as Record<string, unknown> | undefined) ?? {};
      const [key, value] = readMapEntry(raw as Buffer, f.type, fieldPath);
      map[key] = value;
      seen.set(f, map);
    }
  }
  const out: Record<string, unknown> = {};
  for (const f of spec) {
    const value = seen.has(f) ? seen.get(f) : f.presence === 'always' ? f.type.zero() : undefined;
    if (value === undefined || (f.presence === 'omitempty' && isEmpty(value, f))) continue;
    out[f.name] = value;
  }
  return out;
}

function isEmpty(value: unknown, f: FieldSpec): boolean {
  if (f.shape === 'list') return (value as unknown[]).length === 0;
  if (f.shape === 'map') return Object.keys(value as object).length === 0;
  return value === f.type.zero();
}

function readMapEntry(buf: Buffer, valueType: ValueType, path: string): [string, unknown] {
  let key = '';
  let value: unknown;
  const r = new Reader(buf);
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === LENGTH_DELIMITED) key = utf8(r.bytes());
    else if (field === 2 && wire === valueType.wire) value = valueType.read(wire === VARINT ? r.varint() : r.bytes(), `${path}[${key}]`);
    else r.skip(wire);
  }
  // An entry without a value on the wire still exists: Go gives it the zero value.
  return [key, value === undefined ? valueType.zero() : value];
}

/* ------------------------------------------------------------------ meta/v1 */

const ownerReference = message(
  [5, 'apiVersion', string, 'always'],
  [1, 'kind', string, 'always'],
  [3, 'name', string, 'always'],
  [4, 'uid', string, 'always'],
  [6, 'controller', bool, 'pointer'],
  [7, 'blockOwnerDeletion', bool, 'pointer'],
);

const managedFieldsEntry = message(
  [1, 'manager', string],
  [2, 'operation', string],
  [3, 'apiVersion', string],
  [4, 'time', time, 'pointer'],
  [6, 'fieldsType', string],
  [7, 'fieldsV1', fieldsV1, 'pointer'],
  [8, 'subresource', string],
);

const objectMeta = message(
  [1, 'name', string],
  [2, 'generateName', string],
  [3, 'namespace', string],
  [4, 'selfLink', string],
  [5, 'uid', string],
  [6, 'resourceVersion', string],
  [7, 'generation', int64],
  [8, 'creationTimestamp', time, 'always'],
  [9, 'deletionTimestamp', time, 'pointer'],
  [10, 'deletionGracePeriodSeconds', int64, 'pointer'],
  [11, 'labels', mapOf(string)],
  [12, 'annotations', mapOf(string)],
  [13, 'ownerReferences', listOf(ownerReference)],
  [14, 'finalizers', listOf(string)],
  [17, 'managedFields', listOf(managedFieldsEntry)],
);

const labelSelector = message(
  [1, 'matchLabels', mapOf(string)],
  [
    2,
    'matchExpressions',
    listOf(message([1, 'key', string, 'always'], [2, 'operator', string, 'always'], [3, 'values', listOf(string)])),
  ],
);

const condition = message(
  [1, 'type', string, 'always'],
  [2, 'status', string, 'always'],
  [3, 'observedGeneration', int64],
  [4, 'lastTransitionTime', time, 'always'],
  [5, 'reason', string, 'always'],
  [6, 'message', string, 'always'],
);

const metadata: FieldDecl = [1, 'metadata', objectMeta, 'always'];

/* ------------------------------------------------------------------ core/v1 */

const configMap = message(
  metadata,
  [4, 'immutable', bool, 'pointer'],
  [2, 'data', mapOf(string)],
  [3, 'binaryData', mapOf(bytes)],
);

const secret = message(
  metadata,
  [5, 'immutable', bool, 'pointer'],
  [2, 'data', mapOf(bytes)],
  [4, 'stringData', mapOf(string)],
  [3, 'type', string],
);

const namespace = message(
  metadata,
  [2, 'spec', message([1, 'finalizers', listOf(string)]), 'always'],
  [
    3,
    'status',
    message(
      [1, 'phase', string],
      [
        2,
        'conditions',
        listOf(
          message(
            [1, 'type', string, 'always'],
            [2, 'status', string, 'always'],
            [4, 'lastTransitionTime', time, 'always'],
            [5, 'reason', string],
            [6, 'message', string],
          ),
        ),
      ],
    ),
    'always',
  ],
);

const objectReference = message(
  [1, 'kind', string],
  [2, 'namespace', string],
  [3, 'name', string],
  [4, 'uid', string],
  [5, 'apiVersion', string],
  [6, 'resourceVersion', string],
  [7, 'fieldPath', string],
);

const serviceAccount = message(
  metadata,
  [2, 'secrets', listOf(objectReference)],
  [3, 'imagePullSecrets', listOf(message([1, 'name', string]))],
  [4, 'automountServiceAccountToken', bool, 'pointer'],
);

const servicePort = message(
  [1, 'name', string],
  [2, 'protocol', string],
  [6, 'appProtocol', string, 'pointer'],
  [3, 'port', int32, 'always'],
  [4, 'targetPort', intOrString, 'always'],
  [5, 'nodePort', int32],
);

const serviceSpec = message(
  [1, 'ports', listOf(servicePort)],
  [2, 'selector', mapOf(string)],
  [3, 'clusterIP', string],
  [18, 'clusterIPs', listOf(string)],
  [4, 'type', string],
  [5, 'externalIPs', listOf(string)],
  [7, 'sessionAffinity', string],
  [8, 'loadBalancerIP', string],
  [9, 'loadBalancerSourceRanges', listOf(string)],
  [10, 'externalName', string],
  [11, 'externalTrafficPolicy', string],
  [12, 'healthCheckNodePort', int32],
  [13, 'publishNotReadyAddresses', bool],
  [14, 'sessionAffinityConfig', message([1, 'clientIP', message([1, 'timeoutSeconds', int32, 'pointer']), 'pointer']), 'pointer'],
  [19, 'ipFamilies', listOf(string)],
  [17, 'ipFamilyPolicy', string, 'pointer'],
  [20, 'allocateLoadBalancerNodePorts', bool, 'pointer'],
  [21, 'loadBalancerClass', string, 'pointer'],
  [22, 'internalTrafficPolicy', string, 'pointer'],
  [23, 'trafficDistribution', string, 'pointer'],
);

const loadBalancerIngress = message(
  [1, 'ip', string],
  [2, 'hostname', string],
  [3, 'ipMode', string, 'pointer'],
  [4, 'ports', listOf(message([1, 'port', int32, 'always'], [2, 'protocol', string, 'always'], [3, 'error', string, 'pointer']))],
);

const service = message(
  metadata,
  [2, 'spec', serviceSpec, 'always'],
  [
    3,
    'status',
    message([1, 'loadBalancer', message([1, 'ingress', listOf(loadBalancerIngress)]), 'always'], [2, 'conditions', listOf(condition)]),
    'always',
  ],
);

/* ------------------------------------------------------------------ policy/v1 */

const podDisruptionBudget = message(
  metadata,
  [
    2,
    'spec',
    message(
      [1, 'minAvailable', intOrString, 'pointer'],
      [2, 'selector', labelSelector, 'pointer'],
      [3, 'maxUnavailable', intOrString, 'pointer'],
      [4, 'unhealthyPodEvictionPolicy', string, 'pointer'],
    ),
    'always',
  ],
  [
    3,
    'status',
    message(
      [1, 'observedGeneration', int64],
      [2, 'disruptedPods', mapOf(time)],
      [3, 'disruptionsAllowed', int32, 'always'],
      [4, 'currentHealthy', int32, 'always'],
      [5, 'desiredHealthy', int32, 'always'],
      [6, 'expectedPods', int32, 'always'],
      [7, 'conditions', listOf(condition)],
    ),
    'always',
  ],
);

/** Top-level kinds by "apiVersion/kind": those client-go's typed clients send for kubectl's generators. */
const KINDS: Record<string, MessageType> = {
  'v1/ConfigMap': configMap,
  'v1/Secret': secret,
  'v1/Namespace': namespace,
  'v1/ServiceAccount': serviceAccount,
  'v1/Service': service,
  'policy/v1/PodDisruptionBudget': podDisruptionBudget,
};
