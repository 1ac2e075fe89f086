import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// The stand-in's servers (the horde, the model-file host) and the tests' small servers listen and
// stop the same way: loopback only, and a stop that does not wait for idle keep-alive clients.

/** Listens on 127.0.0.1 (`port` 0: a free one) and resolves with the origin; a failed listen (EADDRINUSE) rejects. */
export function listenLocal(server: Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** Stops listening and drops every open connection, idle keep-alive ones included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
