// The console's API types come from the API contract (docs/openapi.yaml), so a route or field the contract does not
// document fails the type check. The contract uses YAML merge keys (`<<: *errors`), which are resolved here first.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { parse } from "yaml";
import openapiTS, { astToString } from "openapi-typescript";

// Our own contract, not untrusted input: every operation's `<<: *errors` is one alias, so the default cap of 100 is lifted.
const contract = parse(readFileSync(new URL("../../docs/openapi.yaml", import.meta.url), "utf8"), {
  merge: true,
  maxAliasCount: -1,
});
// A free-form object of the contract (a config, an ext) is any object, not an empty one.
const ast = await openapiTS(contract, { emptyObjectsUnknown: true });
mkdirSync(new URL("../src/api/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("../src/api/schema.d.ts", import.meta.url),
  "// Generated from docs/openapi.yaml by scripts/api-types.mjs: do not edit.\n" + astToString(ast),
);
