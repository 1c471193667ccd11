// What the API server's proxies (pods/, services/, nodes/proxy) change in an answer, as
// upstream's proxy transport does, so that a page served under
// /api/v1/namespaces/NS/pods/NAME/proxy/ keeps working there: a redirect to the target itself
// (an absolute path, or a URL naming the target's host or the host the client asked) gets the
// proxy prefix; so do such links in an HTML page (href, src, action, ... of the elements
// upstream lists); CORS headers of the target are dropped. Relative links and links to other
// hosts stay as they are. Pure functions: the proxy applies them.
import zlib from 'node:zlib';

/** Upstream's atomsToAttrs: the attributes of each element that hold a URL. */
const URL_ATTRIBUTES: Record<string, string[]> = {
  a: ['href'],
  applet: ['codebase'],
  area: ['href'],
  audio: ['src'],
  base: ['href'],
  blockquote: ['cite'],
  body: ['background'],
  button: ['formaction'],
  command: ['icon'],
  del: ['cite'],
  embed: ['src'],
  form: ['action'],
  frame: ['longdesc', 'src'],
  head: ['profile'],
  html: ['manifest'],
  iframe: ['longdesc', 'src'],
  img: ['longdesc', 'src', 'usemap'],
  input: ['src', 'usemap', 'formaction'],
  ins: ['cite'],
  link: ['href'],
  object: ['classid', 'codebase', 'data', 'usemap'],
  q: ['cite'],
  script: ['src'],
  source: ['src'],
  video: ['poster', 'src'],
};

export interface RewriteContext {
  /** the proxy prefix: the request path without the target's path, e.g. /api/v1/namespaces/default/pods/web/proxy */
  prefix: string;
  /** host:port the request was sent to (the pod, endpoint or agent) */
  targetHost: string;
  /** the Host header the client used (kubectl proxy's localhost:8001, or the API server's) */
  requestHost: string;
}

/** The prefix upstream prepends: the request's path less the part the target receives. */
export function proxyPrefix(requestPath: string, targetPath: string): string {
  let suffix = targetPath;
  if (requestPath.endsWith('/') && !suffix.endsWith('/')) suffix += '/';
  return requestPath.endsWith(suffix) ? requestPath.slice(0, requestPath.length - suffix.length) : requestPath;
}

/** One URL as upstream's rewriteURL: same-host absolute paths go under the prefix. */
export function rewriteURL(target: string, ctx: RewriteContext): string {
  let u: URL;
  let hostOf = '';
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
  try {
    u = new URL(target, 'http://petset.invalid');
    if (absolute) hostOf = u.host;
  } catch {
    return target;
  }
  if (hostOf && hostOf !== ctx.targetHost && hostOf !== ctx.requestHost) return target; // another host
  if (!absolute && !target.startsWith('/')) return target; // relative: resolves under the prefix by itself
  const path = u.pathname;
  const rest = u.search + u.hash;
  // a URL naming the host the client asked keeps it; one naming the target loses scheme and
  // host (upstream's transport is given none on the server side): a path under the prefix
  const origin = hostOf && hostOf === ctx.requestHost ? `${u.protocol}//${u.host}` : '';
  if (path.startsWith(ctx.prefix)) return origin + path + rest;
  const joined = (ctx.prefix + '/' + path.replace(/^\/+/, '')).replace(/\/+/g, '/');
  return origin + joined + rest;
}

/** The answer's headers after upstream's rewriting: Location under the prefix, no CORS headers. */
export function rewriteHeaders(headers: Record<string, string | string[] | undefined>, ctx: RewriteContext): Record<string, string | string[] | undefined> {
  const out = { ...headers };
  for (const h of ['access-control-allow-credentials', 'access-control-allow-headers', 'access-control-allow-methods', 'access-control-allow-origin']) delete out[h];
  const loc = out.location;
  if (typeof loc === 'string' && loc) out.location = rewriteURL(loc, ctx);
  return out;
}

/** Whether the body is an HTML page upstream rewrites (and not a redirect, whose Location is rewritten instead). */
export function rewritesBody(statusCode: number, headers: Record<string, string | string[] | undefined>): boolean {
  if (typeof headers.location === 'string' && headers.location) return false;
  if (statusCode === 101 || statusCode === 204 || statusCode === 304) return false;
  const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'text/html') return false;
  const enc = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  return enc === '' || enc === 'gzip' || enc === 'deflate';
}

const TAG = /<([a-zA-Z][a-zA-Z0-9]*)(\s[^<>]*?)?(\/?)>/g;
const ATTR = /([^\s"'<>/=]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** An HTML page with the URL attributes of upstream's element list rewritten; everything else byte for byte. */
export function rewriteHTML(html: string, ctx: RewriteContext): string {
  return html.replace(TAG, (whole, tag: string, attrs: string | undefined, close: string) => {
    const names = URL_ATTRIBUTES[tag.toLowerCase()];
    if (!names || !attrs) return whole;
    const next = attrs.replace(ATTR, (a, name: string, assign: string | undefined, dq?: string, sq?: string, bare?: string) => {
      if (!assign || !names.includes(name.toLowerCase())) return a;
      const value = dq ?? sq ?? bare ?? '';
      const decoded = value.replace(/&amp;/g, '&');
      const rewritten = rewriteURL(decoded, ctx);
      if (rewritten === decoded) return a;
      const encoded = rewritten.replace(/&/g, '&amp;');
      const q = dq !== undefined ? '"' : sq !== undefined ? "'" : '"';
      return `${name}=${q}${encoded}${q}`;
    });
    return `<${tag}${next}${close}>`;
  });
}

/** Rewrites a whole (possibly gzip- or deflate-encoded) HTML body, encoded back the same way. */
export function rewriteBody(body: Buffer, encoding: string | undefined, ctx: RewriteContext): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  const plain = enc === 'gzip' ? zlib.gunzipSync(body) : enc === 'deflate' ? zlib.inflateSync(body) : body;
  const out = Buffer.from(rewriteHTML(plain.toString('utf8'), ctx), 'utf8');
  return enc === 'gzip' ? zlib.gzipSync(out) : enc === 'deflate' ? zlib.deflateSync(out) : out;
}
