// The demo service: a tiny HTTP service that reports the version it was deployed as.
// This file is committed into the demo's git repository; Trainyard deploys tags of it.
import { createServer } from 'node:http';

const version = process.env.VERSION ?? 'unknown';
const commit = process.env.COMMIT ?? 'unknown';

createServer((req, res) => {
  if (req.url === '/version') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-version': version });
    res.end(JSON.stringify({ version, commit }));
  } else if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`demo service ${version}\n`);
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
