// Composes subgraph SDLs with Apollo's composition library (@apollo/composition).
// Input (stdin): JSON [{"name": "...", "url": "...", "sdl": "..."}, ...].
// Output (stdout): JSON {"errors": [messages], "hints": [messages], "supergraphSdl": "..." | null}.
// Modules are found through NODE_PATH (the test installs them into .cache/federation).
"use strict";

const { composeServices } = require("@apollo/composition");
const { parse } = require("graphql");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const services = JSON.parse(input).map((s) => ({
    name: s.name,
    url: s.url,
    typeDefs: parse(s.sdl),
  }));
  const result = composeServices(services);
  const out = {
    errors: (result.errors || []).map((e) => e.message),
    hints: (result.hints || []).map((h) => h.toString()),
    supergraphSdl: result.errors ? null : result.supergraphSdl,
  };
  process.stdout.write(JSON.stringify(out));
});
