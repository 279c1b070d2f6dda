import { describe, expect, it } from 'vitest';
import { ConfigError, defineConfig, v } from './config.js';

const def = defineConfig('test', {
  port: v.port('T_PORT', 'a port', { default: 8080 }),
  count: v.int('T_COUNT', 'a count', { default: 3, min: 1, max: 10 }),
  flag: v.bool('T_FLAG', 'a flag', { default: false }),
  mode: v.oneOf('T_MODE', 'a mode', ['a', 'b'] as const, { default: 'a' }),
  url: v.url('T_URL', 'a url', ['nats'], { default: 'nats://x:4222' }),
  name: v.string('T_NAME', 'required name'),
  list: v.list('T_LIST', 'a list', { default: ['x'] }),
});

describe('defineConfig', () => {
  it('applies defaults and parses values', () => {
    expect(def.load({ T_NAME: 'n' })).toEqual({ port: 8080, count: 3, flag: false, mode: 'a', url: 'nats://x:4222', name: 'n', list: ['x'] });
    expect(def.load({ T_NAME: 'n', T_PORT: '0', T_COUNT: '10', T_FLAG: 'yes', T_MODE: 'b', T_LIST: 'a, b,,c' })).toMatchObject({
      port: 0,
      count: 10,
      flag: true,
      mode: 'b',
      list: ['a', 'b', 'c'],
    });
  });

  it.each([
    [{ T_NAME: 'n', T_PORT: 'abc' }, 'T_PORT'],
    [{ T_NAME: 'n', T_PORT: '70000' }, 'T_PORT'],
    [{ T_NAME: 'n', T_COUNT: '0' }, 'T_COUNT'],
    [{ T_NAME: 'n', T_COUNT: '1.5' }, 'T_COUNT'],
    [{ T_NAME: 'n', T_FLAG: 'maybe' }, 'T_FLAG'],
    [{ T_NAME: 'n', T_MODE: 'c' }, 'T_MODE'],
    [{ T_NAME: 'n', T_URL: 'http://x' }, 'T_URL'],
    [{ T_NAME: 'n', T_URL: 'not a url' }, 'T_URL'],
    [{}, 'T_NAME'],
  ])('names the bad variable in %j', (env, variable) => {
    let error: unknown;
    try {
      def.load(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('checks what depends on several variables, naming the one to change', () => {
    const pair = defineConfig('t', { low: v.int('T_LOW', 'low', { default: 1 }), high: v.int('T_HIGH', 'high', { default: 2 }) }, (c) => {
      if (c.low > c.high) throw new ConfigError('T_LOW', `${c.low} is above T_HIGH (${c.high})`);
    });
    expect(pair.load({})).toEqual({ low: 1, high: 2 });
    expect(() => pair.load({ T_LOW: '5' })).toThrow(/T_LOW: 5 is above T_HIGH/);
  });

  it('documents every variable', () => {
    for (const name of ['T_PORT', 'T_COUNT', 'T_FLAG', 'T_MODE', 'T_URL', 'T_NAME', 'T_LIST']) {
      expect(def.help()).toContain(name);
      expect(def.markdown()).toContain(`\`${name}\``);
    }
    expect(def.help()).toContain('(required)');
  });
});
