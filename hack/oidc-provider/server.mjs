// The OAuth 2.0 authorization server the e2e suite runs: oidc-provider (pinned in package.json,
// installed by `make oidc-provider` into bin/oidc-provider/node_modules) configured for machine
// clients, plus a few test-only endpoints under /test/. A test server: plain http, loopback only,
// in-memory state that is gone when the process exits. test/oauthserver starts and drives it.
//
// Run from the repository: `node hack/oidc-provider/server.mjs`. ES modules ignore NODE_PATH, so
// the provider is imported by file path from $OIDC_PROVIDER_MODULES (a node_modules directory;
// default ../../bin/oidc-provider/node_modules relative to this file). Its own dependencies (koa,
// jose) resolve from there as usual.
//
// Environment:
//   PORT                  port to listen on, on 127.0.0.1 (0 or unset: a free port); HOST, when
//                         set, must be a 127.0.0.0/8 address
//   ISSUER                the public issuer URL (default http://127.0.0.1:PORT); it may differ from
//                         the listen address when a proxy sits in front
//   CLIENTS_FILE          JSON file: an array of oidc-provider client metadata objects
//   INITIAL_ACCESS_TOKEN  when set, dynamic registration (RFC 7591) requires it as a Bearer token
//   ACCESS_TOKEN_TTL      access token lifetime in seconds (default 3600)
//   DEFAULT_RESOURCE      resource indicator assumed when a token request names none (see below)
//
// Test-only endpoints (plain JSON, no authentication, loopback peers only):
//   GET  /test/tokens?client_id=X  {"tokens": [...]}: every access token issued to X by client_credentials
//   GET  /test/clients             {"clients": [{"client_id", "exists"}]}: dynamically registered clients
//   GET  /test/requests            {"requests": {"token": n, ...}}: requests per endpoint, /test excluded
//   POST /test/mode                {"mode": "normal"|"error"}: in error mode every other request
//                                  answers 503 {"error":"temporarily_unavailable"}
//
// Logs one line per request (method, path without query, status) and never a secret or token value.

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(
  process.env.OIDC_PROVIDER_MODULES || path.join(here, '..', '..', 'bin', 'oidc-provider', 'node_modules'),
);

function fatal(message) {
  console.error(`oidc-provider: ${message}`);
  process.exit(1);
}

// entryPoint finds the ES module entry point of the installed oidc-provider package.
function entryPoint(dir) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch (err) {
    fatal(`cannot read ${path.join(dir, 'package.json')} (run 'make oidc-provider'): ${err.message}`);
  }
  let target = pkg.exports;
  if (target && typeof target === 'object' && '.' in target) target = target['.'];
  if (target && typeof target === 'object') target = target.import ?? target.default;
  if (typeof target !== 'string') target = pkg.main ?? 'index.js';
  return path.join(dir, target);
}

const { default: Provider } = await import(pathToFileURL(entryPoint(path.join(modules, 'oidc-provider'))).href);

const host = process.env.HOST || '127.0.0.1';
if (isIP(host) !== 4 || !host.startsWith('127.')) {
  fatal(`HOST ${host} is not a 127.0.0.0/8 address: this test server listens on loopback only`);
}
const port = Number(process.env.PORT || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fatal(`invalid PORT ${process.env.PORT}`);
const ttl = Number(process.env.ACCESS_TOKEN_TTL || 3600);
if (!Number.isInteger(ttl) || ttl <= 0) fatal(`invalid ACCESS_TOKEN_TTL ${process.env.ACCESS_TOKEN_TTL}`);

let clients = [];
if (process.env.CLIENTS_FILE) {
  try {
    clients = JSON.parse(readFileSync(process.env.CLIENTS_FILE, 'utf8'));
  } catch (err) {
    fatal(`cannot read CLIENTS_FILE: ${err.message}`);
  }
  if (!Array.isArray(clients)) fatal('CLIENTS_FILE must hold a JSON array of client metadata objects');
}

// Scopes the resource servers grant. They are also listed as the provider's static scopes, so
// that a token request without a resource indicator may still ask for them.
const resourceScope = 'mcp:tools mcp:admin';

// An ephemeral signing key (the provider signs nothing the tests use, but it needs one).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

const clientDefaults = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

// Listen first: with PORT=0 the default issuer needs the port the system picked.
const server = http.createServer();
const listening = new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen({ port, host }, resolve);
});
await listening.catch((err) => fatal(`cannot listen on ${host}:${port}: ${err.message}`));
const actualPort = server.address().port;
const issuer = process.env.ISSUER || `http://${host}:${actualPort}`;

const provider = new Provider(issuer, {
  clients,
  clientDefaults,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  // private_key_jwt assertions: RS256 and ES256. The assertion's aud may be the issuer, the token
  // endpoint or the endpoint called (oidc-provider accepts all three).
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'ES256'] },
  scopes: ['openid', 'offline_access', ...resourceScope.split(' ')],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated client may introspect any token (the protected MCP server uses its own
      // introspection client).
      allowedPolicy: async () => true,
    },
    revocation: {
      enabled: true,
      // RFC 7009: a client revokes only its own tokens; others are ignored (200, no effect).
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    registration: {
      enabled: true,
      // A string: the one initial access token value registration requires; false: open registration.
      initialAccessToken: process.env.INITIAL_ACCESS_TOKEN || false,
      issueRegistrationAccessToken: true,
    },
    registrationManagement: {
      enabled: true,
      // Keep the registration access token across PUT, so a client's stored token stays valid.
      rotateRegistrationAccessToken: false,
    },
    resourceIndicators: {
      enabled: true,
      // A token request without resource: DEFAULT_RESOURCE when set (the token is then for that
      // audience), otherwise no resource at all, which gives an opaque access token with no
      // audience whose scope is the requested static scopes.
      defaultResource: async (ctx, client, oneOf) => oneOf || process.env.DEFAULT_RESOURCE || undefined,
      // Only used by grants that carry a granted resource (refresh_token, authorization_code), which
      // machine clients do not use: a request without resource then keeps the granted one.
      useGrantedResource: async () => true,
      // Every absolute resource URL is a resource server: the token is opaque, its audience is the
      // resource, its scope the requested subset of mcp:tools mcp:admin.
      getResourceServerInfo: async (ctx, resourceIndicator) => ({
        scope: resourceScope,
        audience: resourceIndicator,
        accessTokenFormat: 'opaque',
        accessTokenTTL: ttl,
      }),
    },
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || ttl,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || ttl,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
    RefreshToken: 86400,
  },
});

// State the /test/ endpoints report.
const issued = new Map(); // client_id -> [access token values], in issue order
const registered = []; // dynamically registered client_ids, in registration order
const requests = { token: 0, revocation: 0, introspection: 0, registration: 0, discovery: 0, jwks: 0, other: 0 };
let mode = 'normal';

// grant.success is emitted once the token endpoint has built its response body: the recorded
// value is exactly the access_token string the client receives.
provider.on('grant.success', (ctx) => {
  if (ctx.oidc.params?.grant_type !== 'client_credentials') return;
  const token = ctx.body?.access_token;
  const clientId = ctx.oidc.client?.clientId;
  if (typeof token !== 'string' || !clientId) return;
  if (!issued.has(clientId)) issued.set(clientId, []);
  issued.get(clientId).push(token);
});
provider.on('registration_create.success', (ctx, client) => {
  registered.push(client.clientId);
  console.log(`registered client ${client.clientId}`);
});
provider.on('registration_delete.success', (ctx, client) => {
  console.log(`deleted client ${client.clientId}`);
});
for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'registration_create.error',
  'registration_read.error', 'registration_update.error', 'registration_delete.error', 'server_error']) {
  provider.on(event, (ctx, err) => {
    const detail = err.error_detail ? ` (${err.error_detail})` : '';
    console.log(`${event}: ${err.error || err.name}: ${err.error_description || err.message}${detail}`);
  });
}

function category(p) {
  if (p === '/token') return 'token';
  if (p === '/token/revocation') return 'revocation';
  if (p === '/token/introspection') return 'introspection';
  if (p === '/reg' || p.startsWith('/reg/')) return 'registration';
  if (p.startsWith('/.well-known/')) return 'discovery';
  if (p === '/jwks') return 'jwks';
  return 'other';
}

function sendJSON(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function isLoopback(address) {
  return typeof address === 'string' && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

async function readBody(req, limit = 4096) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function testEndpoint(req, res, url) {
  if (!isLoopback(req.socket.remoteAddress)) return sendJSON(res, 403, { error: 'loopback only' });
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /test/tokens': {
      const clientId = url.searchParams.get('client_id');
      if (!clientId) return sendJSON(res, 400, { error: 'client_id is required' });
      return sendJSON(res, 200, { tokens: issued.get(clientId) ?? [] });
    }
    case 'GET /test/clients': {
      const out = [];
      for (const clientId of registered) {
        out.push({ client_id: clientId, exists: !!(await provider.Client.adapter.find(clientId)) });
      }
      return sendJSON(res, 200, { clients: out });
    }
    case 'GET /test/requests':
      return sendJSON(res, 200, { requests });
    case 'POST /test/mode': {
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        return sendJSON(res, 400, { error: `invalid JSON body: ${err.message}` });
      }
      if (body?.mode !== 'normal' && body?.mode !== 'error') {
        return sendJSON(res, 400, { error: 'mode must be "normal" or "error"' });
      }
      mode = body.mode;
      console.log(`mode ${mode}`);
      return sendJSON(res, 200, { mode });
    }
    default:
      return sendJSON(res, 404, { error: `no test endpoint ${route}` });
  }
}

const handle = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  res.on('finish', () => console.log(`${req.method} ${url.pathname} ${res.statusCode}`));
  if (url.pathname === '/test' || url.pathname.startsWith('/test/')) {
    testEndpoint(req, res, url).catch((err) => sendJSON(res, 500, { error: err.message }));
    return;
  }
  requests[category(url.pathname)] += 1;
  if (mode === 'error') {
    req.resume();
    sendJSON(res, 503, { error: 'temporarily_unavailable', error_description: 'the authorization server is in error mode' });
    return;
  }
  handle(req, res);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

console.log(`oidc-provider ready on http://${host}:${actualPort} issuer ${issuer}`);
