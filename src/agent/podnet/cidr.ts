// IPv4 ranges as numbers: parsing, containment, the n-th address, and the /24 of a node.
export interface Cidr {
  base: number;
  prefix: number;
  text: string;
}

export function ipToInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  const ip = m && ipToInt(m[1]);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || ip === undefined || prefix < 8 || prefix > 32) throw new Error(`${text} is not an IPv4 range like 10.244.0.0/16 (prefix 8 to 32)`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = ((ip as number) & mask) >>> 0;
  return { base, prefix, text: `${intToIp(base)}/${prefix}` };
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && n >= c.base && n < c.base + size(c);
}

/** The n-th address of the range (0 is the network address). */
export function nth(c: Cidr, n: number): string {
  if (n < 0 || n >= size(c)) throw new Error(`${c.text} has no address number ${n}`);
  return intToIp(c.base + n);
}

/** The node's /24 inside the pod range: node index i gets the (i+1)-th /24 (the first holds the bridge). */
export function nodeSubnet(podCidr: Cidr, index: number): Cidr {
  const count = size(podCidr) / 256;
  if (podCidr.prefix > 23 || index + 1 >= count) throw new Error(`${podCidr.text} has no room for node number ${index + 1}`);
  return parseCidr(`${intToIp(podCidr.base + (index + 1) * 256)}/24`);
}
