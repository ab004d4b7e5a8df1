// Run graphql-http's GraphQL-over-HTTP audit against a live endpoint.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit, then a summary line, and exits non-zero when any
// MUST fails or any SHOULD warns (MAY notices are reported, not fatal).
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <url>");
  process.exit(2);
}

const results = await auditServer({ url });
const level = (name) => name.split(" ", 1)[0];
const counts = {};
for (const result of results) {
  const key = `${level(result.name)} ${result.status}`;
  counts[key] = (counts[key] || 0) + 1;
}
for (const result of results) {
  const mark = { ok: "ok  ", notice: "note", warn: "WARN", error: "FAIL" }[result.status];
  let line = `${mark} [${result.id}] ${result.name}`;
  if (result.status !== "ok") {
    let body = "";
    try {
      body = (await result.response.text()).slice(0, 300);
    } catch {}
    line += `\n       ${result.reason} (status ${result.response.status}) ${body}`;
  }
  console.log(line);
}

const count = (lvl, status) => counts[`${lvl} ${status}`] || 0;
const total = (lvl) => ["ok", "notice", "warn", "error"].reduce((n, s) => n + count(lvl, s), 0);
const mustFailed = count("MUST", "error");
const shouldWarned = count("SHOULD", "warn");
console.log(
  `graphql-http audit: ${results.length} audits; ` +
    `MUST ${count("MUST", "ok")}/${total("MUST")} passed, ` +
    `SHOULD ${count("SHOULD", "ok")}/${total("SHOULD")} passed, ` +
    `MAY ${count("MAY", "ok")}/${total("MAY")} passed; ` +
    `${mustFailed} MUST failure(s), ${shouldWarned} SHOULD warning(s)`
);
process.exit(mustFailed || shouldWarned ? 1 : 0);
