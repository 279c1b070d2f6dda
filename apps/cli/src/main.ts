#!/usr/bin/env node
// The `sluice` command.
import { runDev, devHelp } from './dev.js';
import { runStack, stackHelp } from './stack.js';
import { runDocs } from './docs.js';

const usage = `sluice: a Kafka-compatible event log

Usage:
  sluice dev [--help]      everything in one process: in-process bus, SQLite, data under ./data (npm start)
  sluice stack [--help]    each service its own process over a nats-server started from PATH (npm run stack)
  sluice docs [--check|--write]  the configuration tables of every service (README.md)
  sluice --help            this text

Each service also runs alone from its build output: node apps/<service>/dist/main.js --help
`;

const [command, ...rest] = process.argv.slice(2);
const wantsHelp = rest.includes('--help') || rest.includes('-h');

switch (command) {
  case 'dev':
    if (wantsHelp) process.stdout.write(devHelp());
    else await runDev();
    break;
  case 'stack':
    if (wantsHelp) process.stdout.write(stackHelp());
    else await runStack(rest);
    break;
  case 'docs':
    await runDocs(rest);
    break;
  case undefined:
  case '--help':
  case '-h':
  case 'help':
    process.stdout.write(usage);
    break;
  default:
    process.stderr.write(`sluice: unknown command "${command}"\n\n${usage}`);
    process.exit(2);
}
