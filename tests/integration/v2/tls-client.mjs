// The v2 client over HTTPS, for tls.test.mjs: run as a child process so that
// NODE_EXTRA_CA_CERTS (read by Node only at start-up) makes it trust the test's self-signed
// certificate. TLS_URL is the proxy's https URL of /mcp, TLS_TOKEN the bearer token. Prints
// one JSON object: the negotiated version, the tool names, a query's rows, a rejection's text.
import { connectHttp, errorResult, okResult } from './lib.mjs';

const session = await connectHttp(process.env.TLS_URL, { Authorization: `Bearer ${process.env.TLS_TOKEN}` });
try {
  const tools = await session.client.listTools();
  const result = okResult(await session.client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM orders' } }));
  const rejected = errorResult(await session.client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM orders' } }));
  process.stdout.write(JSON.stringify({
    version: session.client.getNegotiatedProtocolVersion(),
    tools: tools.tools.map((tool) => tool.name),
    rows: result.rows,
    rejected,
  }));
} finally {
  await session.close();
}
