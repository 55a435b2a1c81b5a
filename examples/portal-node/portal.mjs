// A portal that files initiatives over AMQP and reads its own outcomes, in Node.js.
//
// Written from the published contracts alone (docs/contracts/*.schema.json and asyncapi.json,
// docs/architecture.md "Portals over AMQP"), not from the Python code: it checks every command it
// sends and every answer it receives against those schemas.
//
//   SANGKIEN_AMQP_URL=amqp://portal-a:PASSWORD@127.0.0.1:5672/sangkien \
//     node portal.mjs commands.json
//
// commands.json is an array of {"message_id": ..., "submission": {...}}. The message id is the
// idempotency key: sending it again changes nothing; sending it with another submission is
// answered "conflict". One JSON line is printed per answer:
//   {"command_id": ..., "outcome": "received", "submission_id": ...}
//   {"command_id": ..., "outcome": "rejected", "reasons": [{"field", "code", "message"}]}
// A command the schema refuses is not sent: {"command_id": ..., "outcome": "invalid", ...}.
// Exit status: 0 when every command sent was answered, 1 on timeout, 2 on a broken answer.

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const schemas = process.env.SANGKIEN_SCHEMAS ?? join(here, "..", "..", "docs", "contracts");
const url = process.env.SANGKIEN_AMQP_URL;
const timeoutMs = 1000 * Number(process.env.SANGKIEN_TIMEOUT_SECONDS ?? 60);
const EXCHANGE = "sangkien.events";

function contract(routingKey) {
  const schema = JSON.parse(readFileSync(join(schemas, `${routingKey}.schema.json`), "utf8"));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  return {
    routingKey,
    name: routingKey.replace(/\.v\d+$/, ""),
    version: schema["x-schema-version"],
    validate: ajv.compile(schema),
  };
}

function say(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main() {
  if (!url || process.argv.length < 3) {
    console.error("usage: SANGKIEN_AMQP_URL=amqp://PORTAL:PASSWORD@HOST/sangkien node portal.mjs FILE");
    process.exit(64);
  }
  // The broker checks user_id against the connection's user; the service maps that user to
  // the portal's API client (its unions) and addresses the answers to it.
  const portal = decodeURIComponent(new URL(url).username);
  const submit = contract("submission.submit.v1");
  const answers = {
    "submission.received.v1": contract("submission.received.v1"),
    "submission.rejected.v1": contract("submission.rejected.v1"),
  };
  const commands = JSON.parse(readFileSync(process.argv[2], "utf8"));

  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  channel.on("return", (message) => {
    console.error(`unroutable: ${message.properties.messageId}`);
    process.exit(2);
  });

  // A queue of the portal's own (its name must start with "<portal>."), bound only to the
  // outcomes addressed to it: "<event>.<portal>".
  const { queue } = await channel.assertQueue(`${portal}.example-${randomUUID()}`, {
    exclusive: true,
    durable: false,
  });
  for (const routingKey of Object.keys(answers)) {
    await channel.bindQueue(queue, EXCHANGE, `${routingKey}.${portal}`);
  }

  const waiting = new Set();
  let finish;
  const done = new Promise((resolve) => {
    finish = resolve;
  });
  await channel.consume(
    queue,
    (message) => {
      const { "x-schema": name, "x-schema-version": version } = message.properties.headers;
      const contractOf = answers[`${name}.v${String(version).split(".")[0]}`];
      const body = JSON.parse(message.content.toString("utf8"));
      if (!contractOf || !contractOf.validate(body)) {
        console.error(`answer breaks its schema: ${JSON.stringify(contractOf?.validate.errors)}`);
        process.exit(2);
      }
      if (!waiting.delete(body.command_id)) return; // another run's answer
      if (contractOf.routingKey === "submission.received.v1") {
        say({ command_id: body.command_id, outcome: "received", submission_id: body.submission_id });
      } else {
        say({ command_id: body.command_id, outcome: "rejected", reasons: body.reasons });
      }
      if (waiting.size === 0) finish(0);
    },
    { noAck: true },
  );

  for (const { message_id, submission } of commands) {
    const command = {
      message_id,
      correlation_id: message_id,
      occurred_at: new Date().toISOString(),
      submission,
    };
    if (!submit.validate(command)) {
      say({ command_id: message_id, outcome: "invalid", errors: submit.validate.errors });
      continue;
    }
    waiting.add(message_id);
    channel.publish(EXCHANGE, submit.routingKey, Buffer.from(JSON.stringify(command), "utf8"), {
      persistent: true,
      mandatory: true,
      contentType: "application/json",
      messageId: message_id,
      correlationId: message_id,
      userId: portal,
      headers: { "x-schema": submit.name, "x-schema-version": submit.version },
    });
  }
  await channel.waitForConfirms();
  if (waiting.size === 0) finish(0);

  const timer = setTimeout(() => {
    console.error(`no answer within ${timeoutMs / 1000} s for: ${[...waiting].join(", ")}`);
    finish(1);
  }, timeoutMs);
  const status = await done;
  clearTimeout(timer);
  await connection.close();
  process.exit(status);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
