// Each service starts alone from its build output, documents its variables with --help and refuses a bad value
// with a message naming the variable.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { appEntry } from '@sluice/testing';

const run = (app: Parameters<typeof appEntry>[0], args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [appEntry(app), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });

describe.each([
  ['controller', 'SLUICE_SESSION_TIMEOUT_MS'],
  ['broker', 'SLUICE_LOG_SEGMENT_BYTES'],
  ['group-coordinator', 'SLUICE_NODE_ID'],
  ['gateway', 'SLUICE_HTTP_PORT'],
] as const)('%s', (app, variable) => {
  it('prints its variables with --help', () => {
    const r = run(app, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(variable);
    expect(r.stdout).toContain('SLUICE_NATS_URL');
  });

  it('stops at start naming a bad variable', () => {
    const r = run(app, [], { [variable]: 'not-a-number' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(variable);
  });

  it('names a bad shared variable too', () => {
    const r = run(app, [], { SLUICE_ADMIN_PORT: '99999' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SLUICE_ADMIN_PORT');
  });
});

describe('sluice', () => {
  it('has --help for every command', () => {
    expect(run('cli', ['--help']).stdout).toContain('sluice dev');
    expect(run('cli', ['dev', '--help']).stdout).toContain('SLUICE_DATA_DIR');
    expect(run('cli', ['stack', '--help']).stdout).toContain('--brokers');
    for (const option of ['--controllers', '--admin-port']) expect(run('cli', ['stack', '--help']).stdout).toContain(option);
  });

  it('refuses a bad stack option with exit code 2', () => {
    const r = run('cli', ['stack', '--controllers', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--controllers');
  });

  it('refuses an unknown command', () => {
    const r = run('cli', ['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command');
  });

  it('refuses a bad embedded-mode variable', () => {
    const r = run('cli', ['dev'], { SLUICE_BROKERS: '0' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SLUICE_BROKERS');
  });
});
