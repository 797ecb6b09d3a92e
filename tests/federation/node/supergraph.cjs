// Runs GraphQL operations through Apollo Gateway (@apollo/gateway, the JavaScript router)
// over a composed supergraph whose subgraphs are real HTTP servers.
// Input (stdin): JSON {"supergraphSdl": "...", "headers": {name: value}, "operations":
//   [{"query": "...", "variables": {...}}]}; "headers" are sent to every subgraph.
// Output (stdout): JSON [{"data": ..., "errors": [...]}] in the order of the operations.
// Modules are found through NODE_PATH (the test installs them into .cache/federation).
"use strict";

const { ApolloGateway, RemoteGraphQLDataSource } = require("@apollo/gateway");
const { ApolloServer } = require("@apollo/server");

async function main(input) {
  const gateway = new ApolloGateway({
    supergraphSdl: input.supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest({ request }) {
          for (const [name, value] of Object.entries(input.headers || {})) {
            request.http.headers.set(name, value);
          }
        },
      }),
  });
  const server = new ApolloServer({ gateway });
  await server.start();
  const results = [];
  for (const operation of input.operations) {
    const response = await server.executeOperation(operation);
    const single = response.body.singleResult;
    results.push({ data: single.data ?? null, errors: single.errors ?? [] });
  }
  await server.stop();
  return results;
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  text += chunk;
});
process.stdin.on("end", () => {
  main(JSON.parse(text)).then(
    (results) => process.stdout.write(JSON.stringify(results)),
    (error) => {
      process.stderr.write(String(error && error.stack ? error.stack : error));
      process.exit(1);
    },
  );
});
