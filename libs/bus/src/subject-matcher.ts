// NATS subject matching ('*' matches one token, '>' the rest) for the in-process transport.

export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export function isWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('>');
}
