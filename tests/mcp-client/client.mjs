// Drives `pvectl mcp -t sim` with the official MCP TypeScript SDK client (not pvectl's code)
// through one scenario and prints what happened as one JSON document on stdout, for
// tests/mcp.rs to check. The server inherits this process's environment (PVE_SIM_STATE,
// PVECTL_AUDIT_LOG, PVECTL_CONFIG), so the sim state is the test's file.
//
// Usage: PVECTL_BIN=/path/to/pvectl node client.mjs elicit|approve|no-consent
//   elicit      the client declares elicitation; its human declines, then accepts
//   approve     no elicitation; apply without, then with `approve: true`
//   no-consent  no elicitation; `approve: true` under the default auto_approve

import { spawnSync } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const CLIENT_NAME = "pvectl-test-client";
const scenario = process.argv[2];
const pvectl = process.env.PVECTL_BIN;
if (!pvectl || !["elicit", "approve", "no-consent"].includes(scenario)) {
  console.error("usage: PVECTL_BIN=... node client.mjs elicit|approve|no-consent");
  process.exit(2);
}

const elicits = scenario === "elicit";
const client = new Client(
  { name: CLIENT_NAME, version: "1.0.0" },
  { capabilities: elicits ? { elicitation: { form: {} } } : {} },
);

// What the human answers to the next approval requests, in order; each request is recorded.
const answers = [];
const asked = [];
if (elicits) {
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push({ message: request.params.message, schema: request.params.requestedSchema });
    const answer = answers.shift();
    if (answer === undefined) throw new Error("an approval request nobody expected");
    return answer;
  });
}

const transport = new StdioClientTransport({
  command: pvectl,
  args: ["-t", "sim", "mcp"],
  env: { ...process.env },
  stderr: "inherit",
});

const steps = [];
/** Calls a tool and records its parsed JSON result. */
async function call(name, args) {
  const r = await client.callTool({ name, arguments: args });
  const text = r.content?.[0]?.text;
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { unparsed: text };
  }
  // `text` as sent (JSON.parse would turn 2.0 into 2), `json` to look into.
  const step = {
    tool: name,
    args,
    isError: r.isError === true,
    text,
    json,
    // Whether structuredContent came too, and says what the text says.
    structured: r.structuredContent === undefined ? null : JSON.stringify(r.structuredContent) === JSON.stringify(json),
    asked: asked.length,
  };
  steps.push(step);
  return step;
}

/** Changes the state outside the MCP session: `pvectl -t sim guest start <vmid>`. */
function outside(vmid) {
  const r = spawnSync(pvectl, ["-t", "sim", "-o", "json", "guest", "start", String(vmid)], { env: process.env, encoding: "utf8" });
  steps.push({ outside: `guest start ${vmid}`, code: r.status, stderr: r.stderr });
}

await client.connect(transport);
const tools = (await client.listTools()).tools;
const result = {
  scenario,
  server: client.getServerVersion(),
  tools: tools.map((t) => ({ name: t.name, description: t.description })),
  steps,
  asked,
};

try {
  await call("guest_list", {});
  const plan = (await call("plan_guest_stop", { vmid: 100 })).json.plan;
  if (scenario === "elicit") {
    answers.push({ action: "decline" });
    await call("apply", { digest: plan.digest });
    await call("guest_status", { vmid: 100 });
    answers.push({ action: "accept", content: { approve: true } });
    await call("apply", { digest: plan.digest });
    await call("guest_status", { vmid: 100 });
    // A second plan, then a change made outside before it is applied.
    const snap = (await call("plan_snapshot_create", { vmid: 100, name: "mcp_test" })).json.plan;
    outside(100);
    const conflict = await call("apply", { digest: snap.digest });
    // The new plan is tier change: it runs without asking anyone.
    await call("apply", { digest: conflict.json.plan?.digest ?? "none" });
    await call("snapshot_list", { vmid: 100 });
  } else if (scenario === "approve") {
    await call("apply", { digest: plan.digest });
    await call("guest_status", { vmid: 100 });
    await call("apply", { digest: plan.digest, approve: true });
    await call("guest_status", { vmid: 100 });
  } else {
    await call("apply", { digest: plan.digest, approve: true });
    await call("guest_status", { vmid: 100 });
  }
} finally {
  await client.close();
}
console.log(JSON.stringify(result, null, 2));
