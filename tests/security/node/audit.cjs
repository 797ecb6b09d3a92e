// Runs the GraphQL over HTTP specification's server audits (npm graphql-http,
// `serverAudits`) against the gateway at {url}, sending {headers} with every request.
// Reads {"url", "headers"} as JSON on stdin; prints one {id, name, status, reason,
// httpStatus, body} per audit as a JSON array on stdout.
// Modules are found through NODE_PATH (the test installs them into .cache/graphql-http).
"use strict";

const { serverAudits } = require("graphql-http");

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { url, headers } = JSON.parse(input);
  const fetchFn = (target, init = {}) =>
    fetch(target, { ...init, headers: { ...(init.headers || {}), ...headers } });
  const results = [];
  for (const audit of serverAudits({ url, fetchFn })) {
    const result = await audit.fn();
    const entry = { id: result.id, name: result.name, status: result.status };
    if (result.status !== "ok") {
      entry.reason = result.reason;
      entry.httpStatus = result.response.status;
      entry.contentType = result.response.headers.get("content-type");
      try {
        entry.body = (await result.response.text()).slice(0, 500);
      } catch (error) {
        entry.body = `(body already read: ${error.message})`;
      }
    }
    results.push(entry);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
