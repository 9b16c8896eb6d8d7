// Preloaded with `node --require` into @modelcontextprotocol/server-everything, which listens on
// every interface: every TCP listen is bound to 127.0.0.1, so the e2e suite exposes nothing to the
// network. Only the port (and the callback) of a listen call is kept.
'use strict';
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  let port = 0;
  if (args.length > 0 && args[0] !== null && typeof args[0] === 'object') {
    if (args[0].path !== undefined) {
      return listen.call(this, args[0], callback); // a Unix socket: not on any network
    }
    port = args[0].port ?? 0;
  } else if (typeof args[0] === 'string' && !/^\d+$/.test(args[0])) {
    return listen.call(this, args[0], callback); // a pipe path: not on any network
  } else if (args.length > 0 && args[0] !== undefined) {
    port = args[0];
  }
  return listen.call(this, { port: Number(port), host: '127.0.0.1' }, callback);
};
