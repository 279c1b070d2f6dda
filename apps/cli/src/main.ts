#!/usr/bin/env node
// The `sluice` command: the operator verbs (against a gateway's HTTP API) and the commands that run Sluice itself.
// The service libraries load only for the commands that run them: the operator verbs start fast.
import { isOperatorCommand, runOperator } from './ops/operator-cli.js';
import { usageText } from './usage.js';

const usage = usageText();

const [command, ...rest] = process.argv.slice(2);
const wantsHelp = rest.includes('--help') || rest.includes('-h');

if (isOperatorCommand(command)) {
  process.exitCode = await runOperator(process.argv.slice(2));
} else {
  switch (command) {
    case 'dev': {
      const { runDev, devHelp } = await import('./dev.js');
      if (wantsHelp) process.stdout.write(devHelp());
      else await runDev();
      break;
    }
    case 'stack': {
      const { runStack, stackHelp } = await import('./stack.js');
      if (wantsHelp) process.stdout.write(stackHelp());
      else await runStack(rest);
      break;
    }
    case 'docs':
      await (await import('./docs.js')).runDocs(rest);
      break;
    case 'openapi':
      process.exitCode = await (await import('./openapi.js')).runOpenApi(rest);
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
}
