// The API server's proxies rewrite answers as upstream's proxy transport does (pure): redirects
// and HTML links to the target stay under /api/v1/.../proxy/, relative and foreign ones stay.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { proxyPrefix, rewriteBody, rewriteHeaders, rewriteHTML, rewritesBody, rewriteURL } from '../../src/apiserver/connect/proxy-rewrite.js';

const prefix = '/api/v1/namespaces/default/pods/kubia-1/proxy';
const ctx = { prefix, targetHost: '10.244.0.5:8080', requestHost: 'localhost:8001' };

describe('proxy answers rewritten as upstream', () => {
  it('finds the prefix: the request path less the target path', () => {
    assert.equal(proxyPrefix(`${prefix}/a/b`, '/a/b'), prefix);
    assert.equal(proxyPrefix(`${prefix}/`, '/'), prefix);
    assert.equal(proxyPrefix('/api/v1/namespaces/default/services/https:web:443/proxy/x/', '/x/'), '/api/v1/namespaces/default/services/https:web:443/proxy');
  });

  it('puts absolute paths and URLs of the target under the prefix; leaves relative and foreign ones', () => {
    assert.equal(rewriteURL('/login?next=%2F#top', ctx), `${prefix}/login?next=%2F#top`);
    assert.equal(rewriteURL('/', ctx), `${prefix}/`);
    assert.equal(rewriteURL('http://10.244.0.5:8080/admin/', ctx), `${prefix}/admin/`);
    assert.equal(rewriteURL('http://localhost:8001/admin', ctx), `http://localhost:8001${prefix}/admin`, 'the host the client asked keeps its origin');
    assert.equal(rewriteURL(`${prefix}/already`, ctx), `${prefix}/already`);
    assert.equal(rewriteURL('login', ctx), 'login');
    assert.equal(rewriteURL('../up', ctx), '../up');
    assert.equal(rewriteURL('https://example.org/x', ctx), 'https://example.org/x');
    assert.equal(rewriteURL('//cdn.example.org/x.js', ctx), '//cdn.example.org/x.js');
  });

  it('rewrites Location and drops CORS headers; redirects and non-HTML bodies pass through', () => {
    const h = rewriteHeaders({ location: '/login', 'access-control-allow-origin': '*', 'content-type': 'text/plain' }, ctx);
    assert.deepEqual(h, { location: `${prefix}/login`, 'content-type': 'text/plain' });
    assert.equal(rewritesBody(302, { location: '/x', 'content-type': 'text/html' }), false);
    assert.equal(rewritesBody(200, { 'content-type': 'application/json' }), false);
    assert.equal(rewritesBody(200, { 'content-type': 'text/html; charset=utf-8' }), true);
    assert.equal(rewritesBody(200, { 'content-type': 'text/html', 'content-encoding': 'br' }), false, 'an encoding upstream does not decode');
  });

  it("rewrites the URL attributes of upstream's element list, nothing else", () => {
    const page = `<!doctype html><html><head><link rel="stylesheet" href="/s.css"><script src='/app.js'></script></head>
<body><a href="/pets?a=1&amp;b=2">pets</a> <a href=other>rel</a> <a href="https://example.org/">ext</a>
<img src=/logo.png alt="/not-a-url"><form action="/post" method="post"><input type="text" value="/x"></form><p data-href="/no">/text</p></body></html>`;
    const out = rewriteHTML(page, ctx);
    assert.equal(
      out,
      `<!doctype html><html><head><link rel="stylesheet" href="${prefix}/s.css"><script src='${prefix}/app.js'></script></head>
<body><a href="${prefix}/pets?a=1&amp;b=2">pets</a> <a href=other>rel</a> <a href="https://example.org/">ext</a>
<img src="${prefix}/logo.png" alt="/not-a-url"><form action="${prefix}/post" method="post"><input type="text" value="/x"></form><p data-href="/no">/text</p></body></html>`,
    );
  });

  it('decodes gzip and deflate bodies and encodes them back', () => {
    const page = '<a href="/x">x</a>';
    assert.equal(zlib.gunzipSync(rewriteBody(zlib.gzipSync(page), 'gzip', ctx)).toString(), `<a href="${prefix}/x">x</a>`);
    assert.equal(zlib.inflateSync(rewriteBody(zlib.deflateSync(page), 'deflate', ctx)).toString(), `<a href="${prefix}/x">x</a>`);
  });
});
