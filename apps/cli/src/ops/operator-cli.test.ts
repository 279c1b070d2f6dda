// The operator verbs' command-line handling and output, without a gateway (the e2e test runs them against one).
import { describe, expect, it } from 'vitest';
import { renderRecord } from './consume-verb.js';
import { operatorVerbs, completionScript } from './operator-cli.js';
import { table } from './output.js';
import { parseVerb, UsageError, verbHelp, type Verb } from './verb.js';

const verb = (path: string): Verb => {
  const v = operatorVerbs.find((x) => x.path.join(' ') === path);
  if (!v) throw new Error(`no verb ${path}`);
  return v;
};

describe('parseVerb', () => {
  it('takes a negative number as the value of the option before it', () => {
    const ctx = parseVerb(verb('group reset-offsets'), ['g', '--topic', 't', '--shift-by', '-10'], {});
    expect(ctx).not.toBe('help');
    if (ctx === 'help') return;
    expect(ctx.values['shift-by']).toBe('-10');
    expect(ctx.positionals).toEqual(['g']);
    const consume = parseVerb(verb('consume'), ['t', '-o', '-5'], {});
    expect(consume !== 'help' && consume.values.offset).toBe('-5');
  });

  it('reads --url, then SLUICE_URL, then the default', () => {
    const v = verb('topic list');
    expect((parseVerb(v, ['--url', 'http://a:1'], { SLUICE_URL: 'http://b:2' }) as { url: string }).url).toBe('http://a:1');
    expect((parseVerb(v, [], { SLUICE_URL: 'http://b:2' }) as { url: string }).url).toBe('http://b:2');
    expect((parseVerb(v, [], {}) as { url: string }).url).toBe('http://127.0.0.1:8080');
  });

  it('refuses unknown options, missing and extra arguments', () => {
    expect(() => parseVerb(verb('topic create'), ['t', '--nope'], {})).toThrow(UsageError);
    expect(() => parseVerb(verb('topic create'), [], {})).toThrow(/missing NAME/);
    expect(() => parseVerb(verb('topic delete'), ['a', 'b'], {})).toThrow(/unexpected argument "b"/);
    expect(parseVerb(verb('topic delete'), ['--help'], {})).toBe('help');
  });

  it('has help naming every option of every verb', () => {
    for (const v of operatorVerbs) {
      const help = verbHelp(v);
      for (const name of Object.keys(v.options ?? {})) expect(help).toContain(`--${name}`);
      expect(completionScript()).toContain(`"${v.path.join(' ')}")`);
    }
  });
});

describe('output', () => {
  it('renders kcat-like templates', () => {
    const r = { topic: 't', partition: 2, offset: 7, timestamp: 1000, key: 'k', value: 'héllo', headers: [{ key: 'a', value: '1' }, { key: 'b', value: null }] };
    expect(renderRecord('%t/%p/%o %T %k=%s %h (%K,%S) 100%%\\t.', 'string', r)).toBe('t/2/7 1000 k=héllo a=1,b= (1,6) 100%\t.');
    expect(renderRecord('%k|%s', 'json', { key: null, value: { a: [1] } })).toBe('|{"a":[1]}');
  });

  it('aligns tables and shows absent cells as -', () => {
    expect(table(['A', 'LONGER'], [[1, null], ['wide cell', 'x']])).toBe('A          LONGER\n1          -\nwide cell  x\n');
  });
});
