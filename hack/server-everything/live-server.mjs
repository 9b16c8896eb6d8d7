// A stateful MCP server on the official TypeScript SDK whose tools change at run time: the e2e
// suite's proof that live sync works against the SDK most servers in the field are built on, not
// only against the repository's Go test server. Streamable HTTP with sessions (one SDK Server and
// transport per session, as the SDK's examples keep them); the SDK answers the standalone GET
// stream, and a change of tools sends notifications/tools/list_changed on every session's stream.
// A test server: plain http, loopback only, in-memory state gone when the process exits.
//
// Run from the repository: `node hack/server-everything/live-server.mjs`. ES modules ignore
// NODE_PATH, so the SDK is imported by file path from $MCP_SDK_MODULES (a node_modules directory;
// default ../../bin/server-everything/node_modules relative to this file, where `make
// server-everything` installs @modelcontextprotocol/sdk pinned by package-lock.json).
//
// Environment:
//   PORT   port to listen on, on 127.0.0.1 (0 or unset: a free port)
//   TOOLS  how many tools to start with (tool-000, tool-001, ...; default 2)
//
// Endpoints:
//   /mcp                    the MCP endpoint (POST, GET for the standalone stream, DELETE)
//   GET  /control/state     {"sessions": n, "streams": n, "tools": [names]}
//   PUT  /control/tools     body {"tools": [{"name", "description"}]}: replaces the tools and
//                           notifies every session; answers {"notified": n}
//
// Prints "listening on http://127.0.0.1:PORT/mcp" once it accepts connections; logs one line per
// session opened or closed.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(
  process.env.MCP_SDK_MODULES || path.join(here, '..', '..', 'bin', 'server-everything', 'node_modules'),
);
const sdk = (file) =>
  import(pathToFileURL(path.join(modules, '@modelcontextprotocol', 'sdk', 'dist', 'esm', file)).href);
const { Server } = await sdk('server/index.js');
const { StreamableHTTPServerTransport } = await sdk('server/streamableHttp.js');
const { CallToolRequestSchema, ListToolsRequestSchema, isInitializeRequest } = await sdk('types.js');

const maxBody = 1 << 20;

const generated = (n) =>
  Array.from({ length: n }, (_, i) => {
    const name = `tool-${String(i).padStart(3, '0')}`;
    return { name, description: `Generated tool ${name}` };
  });

let tools = generated(Number(process.env.TOOLS ?? 2));

// sessions maps a session id to its SDK server and transport.
const sessions = new Map();
// streams counts the open standalone GET streams.
let streams = 0;

async function openSession() {
  const server = new Server(
    { name: 'ts-live-server', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: { type: 'object' } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => ({
    content: [{ type: 'text', text: `called ${req.params.name}` }],
  }));
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, { server, transport });
      console.log(`session ${id} opened (${sessions.size} open)`);
    },
  });
  transport.onclose = () => {
    const id = transport.sessionId;
    if (id && sessions.delete(id)) {
      console.log(`session ${id} closed (${sessions.size} open)`);
    }
  };
  await server.connect(transport);
  return transport;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBody) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function rpcError(res, status, message) {
  json(res, status, { jsonrpc: '2.0', id: null, error: { code: -32000, message } });
}

async function handleMCP(req, res) {
  const id = req.headers['mcp-session-id'];
  const session = id ? sessions.get(id) : undefined;
  if (req.method === 'POST') {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      rpcError(res, 400, `Parse error: ${err.message}`);
      return;
    }
    if (session) {
      await session.transport.handleRequest(req, res, body);
    } else if (!id && isInitializeRequest(body)) {
      await (await openSession()).handleRequest(req, res, body);
    } else if (id) {
      rpcError(res, 404, 'Session not found');
    } else {
      rpcError(res, 400, 'Bad Request: no session id, and not an initialize request');
    }
    return;
  }
  if (req.method === 'GET' || req.method === 'DELETE') {
    if (!session) {
      rpcError(res, id ? 404 : 400, id ? 'Session not found' : 'Bad Request: no session id');
      return;
    }
    if (req.method === 'GET') {
      streams++;
      res.on('close', () => streams--);
    }
    await session.transport.handleRequest(req, res);
    return;
  }
  res.writeHead(405, { allow: 'GET, POST, DELETE' }).end();
}

async function handleControl(req, res) {
  if (req.url === '/control/state' && req.method === 'GET') {
    json(res, 200, { sessions: sessions.size, streams, tools: tools.map((t) => t.name) });
    return;
  }
  if (req.url === '/control/tools' && req.method === 'PUT') {
    let next;
    try {
      next = JSON.parse(await readBody(req)).tools;
      if (!Array.isArray(next) || next.some((t) => typeof t?.name !== 'string' || typeof (t.description ?? '') !== 'string')) {
        throw new Error('tools must be an array of {name, description}');
      }
    } catch (err) {
      json(res, 400, { error: err.message });
      return;
    }
    tools = next.map((t) => ({ name: t.name, description: t.description ?? '' }));
    let notified = 0;
    for (const { server } of sessions.values()) {
      try {
        await server.sendToolListChanged();
        notified++;
      } catch (err) {
        console.log(`cannot notify a session: ${err.message}`);
      }
    }
    json(res, 200, { notified });
    return;
  }
  json(res, 404, { error: 'not found' });
}

const httpServer = http.createServer((req, res) => {
  const route = req.url.startsWith('/control/') ? handleControl : req.url.split('?')[0] === '/mcp' ? handleMCP : null;
  if (!route) {
    json(res, 404, { error: 'not found' });
    return;
  }
  route(req, res).catch((err) => {
    console.log(`${req.method} ${req.url}: ${err.message}`);
    if (!res.headersSent) {
      rpcError(res, 500, 'Internal error');
    } else {
      res.end();
    }
  });
});

httpServer.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' }, () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
