// Runs graphql-http's audit suite against the URL given and prints the results as JSON.
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url });
const summary = results.map((result) => ({
  id: result.id,
  name: result.name,
  status: result.status,
  reason: result.status === "ok" ? undefined : result.reason,
}));
console.log(JSON.stringify(summary));
