/**
 * The version URLs of the reliability tests' environments: `GET /<service>/<environment>` answers
 * what the deploy scripts left there (404 before the first deploy), as a real service reports its
 * version: staging in a JSON body's `version`, production in an `X-Version` header (the two forms
 * Trainyard reads).
 */
import { createServer, type Server } from 'node:http';

export async function startVersionEndpoint(running: (service: string, environment: string) => string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const [, service = '', environment = ''] = (req.url ?? '').split('/');
    const version = /^[\w.-]+$/.test(service) && /^(staging|production)$/.test(environment) ? running(service, environment) : undefined;
    if (!version) res.writeHead(404).end();
    else if (environment === 'production') res.writeHead(200, { 'x-version': version, 'content-type': 'text/plain' }).end('ok\n');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}
