// The baseline of bench:invoke: a bare Node HTTP server answering every request
// with the body the no-op function returns through the gateway.
import { createServer } from 'node:http';

const body = Buffer.from(JSON.stringify({ ok: true }));
const server = createServer({ keepAlive: true }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
