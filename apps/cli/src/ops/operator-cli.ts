// The operator verbs of `sluice` (cluster, topic, produce, consume, group, completion): dispatch with plural
// aliases, help on every level, shell completion, and the exit codes of output.ts.
import { clusterVerbs } from './cluster-verbs.js';
import { consumeVerb } from './consume-verb.js';
import { groupVerbs } from './group-verbs.js';
import { describeFailure, ExitCode } from './output.js';
import { produceVerb } from './produce-verb.js';
import { replicaVerbs } from './replica-verbs.js';
import { topicVerbs } from './topic-verbs.js';
import { globalOptions, parseVerb, UsageError, verbHelp, type Verb } from './verb.js';

export const operatorVerbs: Verb[] = [...clusterVerbs, ...topicVerbs, ...replicaVerbs, produceVerb, consumeVerb, ...groupVerbs];

/** Nouns and the names they are also known by. */
const aliases: Record<string, string> = { topics: 'topic', groups: 'group', clusters: 'cluster' };

export const operatorNouns = [...new Set(operatorVerbs.map((v) => v.path[0]))];

export function isOperatorCommand(word: string | undefined): boolean {
  return word !== undefined && (operatorNouns.includes(word) || word in aliases || word === 'completion');
}

export function operatorUsage(): string {
  const lines = operatorVerbs.map((v) => {
    const args = (v.positionals ?? []).map((p) => ` ${p}`).join('');
    return `  ${`sluice ${v.path.join(' ')}${args}`.padEnd(40)} ${v.summary}`;
  });
  return [...lines, `  ${'sluice completion bash'.padEnd(40)} a bash completion script: source <(sluice completion bash)`].join('\n');
}

function nounHelp(noun: string): string {
  const verbs = operatorVerbs.filter((v) => v.path[0] === noun);
  return [`sluice ${noun} VERB [options]`, '', ...verbs.map((v) => `  ${v.path.slice(1).join(' ').padEnd(16)} ${v.summary}`), '', `sluice ${noun} VERB --help for its options.`, ''].join('\n');
}

export function completionScript(): string {
  const nouns = [...operatorNouns, ...Object.keys(aliases), 'completion', 'dev', 'stack', 'docs'];
  const verbsOf = (noun: string) =>
    operatorVerbs
      .filter((v) => v.path[0] === noun && v.path.length > 1)
      .map((v) => v.path[1])
      .join(' ');
  const optionsOf = (v: Verb) =>
    Object.entries({ ...(v.options ?? {}), ...globalOptions })
      .map(([name]) => `--${name}`)
      .join(' ');
  const nounCases = operatorNouns
    .filter((n) => verbsOf(n) !== '')
    .map((n) => `    ${[n, ...Object.entries(aliases).filter(([, to]) => to === n).map(([a]) => a)].join('|')}) words="${verbsOf(n)}" ;;`)
    .join('\n');
  const optionCases = operatorVerbs.map((v) => `    "${v.path.join(' ')}") words="${optionsOf(v)}" ;;`).join('\n');
  return `# bash completion for sluice: source <(sluice completion bash)
_sluice() {
  local cur noun verb words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  noun="\${COMP_WORDS[1]}"
  case "$noun" in topics) noun=topic ;; groups) noun=group ;; clusters) noun=cluster ;; esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${nouns.join(' ')} --help"
  elif [ "$COMP_CWORD" -eq 2 ] && [ "$noun" != produce ] && [ "$noun" != consume ]; then
    case "$noun" in
${nounCases}
    completion) words="bash" ;;
    *) words="" ;;
    esac
  else
    verb="$noun"
    case "$noun" in produce|consume) ;; *) verb="$noun \${COMP_WORDS[2]}" ;; esac
    case "$verb" in
${optionCases}
    *) words="" ;;
    esac
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _sluice sluice
`;
}

/** Runs an operator command; resolves to the process exit code. */
export async function runOperator(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === 'completion') {
    if (second !== 'bash') {
      process.stderr.write('sluice completion: only bash is supported: source <(sluice completion bash)\n');
      return second === undefined || second === '--help' ? ExitCode.ok : ExitCode.usage;
    }
    process.stdout.write(completionScript());
    return ExitCode.ok;
  }
  const noun = aliases[first] ?? first;
  let verb = operatorVerbs.find((v) => v.path.length === 1 && v.path[0] === noun);
  let args = [second, ...rest].filter((a) => a !== undefined);
  if (!verb) {
    if (second === undefined || second === '--help' || second === '-h' || second === 'help') {
      process.stdout.write(nounHelp(noun));
      return second === undefined ? ExitCode.usage : ExitCode.ok;
    }
    verb = operatorVerbs.find((v) => v.path[0] === noun && v.path[1] === second);
    args = rest;
    if (!verb) {
      process.stderr.write(`sluice ${noun}: unknown verb "${second}"\n\n${nounHelp(noun)}`);
      return ExitCode.usage;
    }
  }
  let url = env.SLUICE_URL ?? 'http://127.0.0.1:8080';
  try {
    const ctx = parseVerb(verb, args, env);
    if (ctx === 'help') {
      process.stdout.write(verbHelp(verb));
      return ExitCode.ok;
    }
    url = ctx.url;
    return await verb.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sluice ${verb.path.join(' ')}: ${err.message}\n\n${verbHelp(verb)}`);
      return ExitCode.usage;
    }
    const failure = describeFailure(err, url);
    process.stderr.write(`sluice ${verb.path.join(' ')}: ${failure.message}\n`);
    return failure.code;
  }
}
