// `sluice --help` (also kept in README.md by `sluice docs --write`).
import { operatorUsage } from './ops/operator-cli.js';

export function usageText(): string {
  return `sluice: a Kafka-compatible event log

Usage:
${operatorUsage()}

  sluice dev [--help]            everything in one process: in-process bus, SQLite, data under ./data (npm start)
  sluice stack [--help]          each service its own process over a nats-server started from PATH (npm run stack)
  sluice docs [--check|--write]  the configuration tables of every service (README.md)
  sluice openapi [--check|--write]  the HTTP API's OpenAPI document and the generated client types
  sluice --help                  this text

The operator verbs talk to a gateway: --url URL, or $SLUICE_URL, default http://127.0.0.1:8080.
Every verb takes --help, and --json to print JSON instead of tables. Plural nouns work too (topics, groups).

Exit codes: 0 ok; 1 the gateway refused or failed the request; 2 bad command line; 3 topic, partition or group not
found; 4 conflict (exists already, group has active members); 5 cluster health: a partition is offline or
under-replicated; 6 no gateway answered at the URL.

Each service also runs alone from its build output: node apps/<service>/dist/main.js --help
`;
}
