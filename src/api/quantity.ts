// Kubernetes resource quantities ("500Mi", "1.5", "250m", "1e3"): parsing, comparison and the
// canonical text the API server writes back. Values are kept exactly, as a count of
// nano-units in a bigint, which is the finest precision Kubernetes keeps.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** the amount in units of 10^-9 */
  nanos: bigint;
  /** how the amount was written; canonical output keeps the same family of suffixes */
  format: QuantityFormat;
}

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";
export const QUANTITY_NUMERIC_ERROR = 'unable to parse numeric part of quantity';

export class QuantityError extends Error {}

const SHAPE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const NANO_DIGITS = 9;
const MAX_QUANTITY_DIGITS = 100;
const MAX_QUANTITY_EXPONENT = 400;
const NANOS_PER_UNIT = 10n ** 9n;

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([k, v]) => [v, k]));
const BINARY_BY_EXPONENT = new Map(Object.entries(BINARY_SUFFIXES).map(([k, v]) => [v, k]));

/** Parses a quantity as the API server does; throws QuantityError with upstream's messages. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? numberText(input) : input;
  if (text === '') throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const m = SHAPE.exec(text);
  if (!m) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const [, numeric, suffix] = m;

  let format: QuantityFormat;
  let decimalExponent = 0;
  let binaryExponent = 0;
  if (suffix in DECIMAL_SUFFIXES) {
    format = 'DecimalSI';
    decimalExponent = DECIMAL_SUFFIXES[suffix];
  } else if (suffix in BINARY_SUFFIXES) {
    format = 'BinarySI';
    binaryExponent = BINARY_SUFFIXES[suffix];
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    format = 'DecimalExponent';
    decimalExponent = Number(suffix.slice(1));
    // upstream reads the exponent as an int32
    if (!Number.isSafeInteger(decimalExponent) || Math.abs(decimalExponent) >= 2 ** 31) throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  } else {
    throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  }

  const n = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(numeric);
  if (!n || (n[2] === '' && !n[3])) throw new QuantityError(QUANTITY_NUMERIC_ERROR);
  // Exact arithmetic on bigints costs time and memory in the size of the number: amounts far
  // beyond any real resource (upstream keeps them as arbitrary-precision decimals) are refused
  // rather than let one request spend seconds or gigabytes on them.
  if (numeric.length > MAX_QUANTITY_DIGITS || Math.abs(decimalExponent) > MAX_QUANTITY_EXPONENT) throw new QuantityError(QUANTITY_NUMERIC_ERROR);
  const negative = n[1] === '-';
  const fraction = n[3] ?? '';
  // value = digits * 10^(decimalExponent - fraction.length) * 2^binaryExponent
  const digits = BigInt((n[2] || '0') + fraction) * 2n ** BigInt(binaryExponent);
  const scale = decimalExponent - fraction.length + NANO_DIGITS;
  let nanos: bigint;
  if (scale >= 0) {
    nanos = digits * 10n ** BigInt(scale);
  } else {
    // Anything finer than a nano-unit rounds away from zero, so a tiny request still asks for something.
    const divisor = 10n ** BigInt(-scale);
    nanos = digits / divisor + (digits % divisor === 0n ? 0n : 1n);
  }
  if (format === 'BinarySI' && nanos > 0n && nanos < NANOS_PER_UNIT) format = 'DecimalSI';
  return { nanos: negative ? -nanos : nanos, format };
}

/** Like parseQuantity, but undefined instead of an exception. */
export function tryParseQuantity(input: unknown): Quantity | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  // most strings compared as maybe-quantities (names, images) are not: no exception to build for them
  if (typeof input === 'string' && !SHAPE.test(input)) return undefined;
  try {
    return parseQuantity(input);
  } catch {
    return undefined;
  }
}

/** -1, 0 or 1, like Quantity.Cmp. */
export function compareQuantities(a: Quantity | string | number, b: Quantity | string | number): -1 | 0 | 1 {
  const x = asQuantity(a).nanos;
  const y = asQuantity(b).nanos;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The canonical text upstream writes (Quantity.String()): "1536Mi", "500m", "1k", "0". */
export function formatQuantity(q: Quantity | string | number): string {
  const { nanos, format } = asQuantity(q);
  if (nanos === 0n) return '0';
  const negative = nanos < 0n;
  const magnitude = negative ? -nanos : nanos;
  const sign = negative ? '-' : '';

  if (format === 'BinarySI' && magnitude >= 1024n * NANOS_PER_UNIT && magnitude % NANOS_PER_UNIT === 0n) {
    let mantissa = magnitude / NANOS_PER_UNIT;
    let exponent = 0;
    while (exponent < 60 && mantissa % 1024n === 0n) {
      mantissa /= 1024n;
      exponent += 10;
    }
    return `${sign}${mantissa}${BINARY_BY_EXPONENT.get(exponent) ?? ''}`;
  }

  // Decimal: strip factors of ten, then lower the exponent to a multiple of three.
  let mantissa = magnitude;
  let exponent = -NANO_DIGITS;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const excess = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(excess);
  exponent -= excess;
  if (format === 'DecimalExponent') return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  const suffix = DECIMAL_BY_EXPONENT.get(exponent);
  return `${sign}${mantissa}${suffix ?? `e${exponent}`}`;
}

/** The canonical form of a quantity string (what the server stores and returns). */
export function canonicalQuantity(input: string | number): string {
  return formatQuantity(parseQuantity(input));
}

/** Whole units, rounded up (Quantity.Value()); e.g. bytes of "1Gi", cores of "1500m" -> 2. */
export function quantityValue(q: Quantity | string | number): number {
  return Number(ceilDiv(asQuantity(q).nanos, NANOS_PER_UNIT));
}

/** Thousandths of a unit, rounded up (Quantity.MilliValue()); e.g. "250m" -> 250. */
export function quantityMilliValue(q: Quantity | string | number): number {
  return Number(ceilDiv(asQuantity(q).nanos, 10n ** 6n));
}

function asQuantity(q: Quantity | string | number): Quantity {
  return typeof q === 'object' ? q : parseQuantity(q);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

/** JSON numbers reach us as numbers; write them without exponent surprises for ordinary sizes. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const t = String(n);
  return t.replace(/e\+/, 'e');
}
