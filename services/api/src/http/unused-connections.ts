// On close the server waits for every connection to end. Node ends the idle keep-alive ones itself, but not one that
// never carried a request (a spare socket a client opened ahead of need, as browsers and undici do, e.g. when a
// long-lived stream was open), which would hold the stop until the client drops it. Such a connection has nothing to
// answer: while the app closes, end every connection with no request in flight.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

const SWEEP_MS = 50;

export function endUnusedConnectionsOnClose(app: FastifyInstance): void {
  const inFlight = new Map<Socket, number>();
  app.server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  app.server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      if (inFlight.has(socket)) inFlight.set(socket, inFlight.get(socket)! - 1);
    });
  });
  let sweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    sweep = setInterval(() => {
      for (const [socket, n] of inFlight) if (n === 0) socket.destroy();
    }, SWEEP_MS);
  });
  // Runs once the server closed (or was never listening).
  app.addHook('onClose', async () => clearInterval(sweep));
}
