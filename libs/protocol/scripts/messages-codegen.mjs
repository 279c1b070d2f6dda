// Generates TypeScript codecs for Kafka protocol messages from the vendored definitions (spec/messages/*.json):
// for each message, an interface per struct and read/write functions specialised by version checks, following
// Kafka's rules (versions, nullableVersions, flexibleVersions with compact encodings and tagged fields).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The APIs the gateway serves (Kafka names), in api-key order. */
export const servedApis = [
  'Produce', 'Fetch', 'ListOffsets', 'Metadata', 'OffsetCommit', 'OffsetFetch', 'FindCoordinator', 'JoinGroup',
  'Heartbeat', 'LeaveGroup', 'SyncGroup', 'DescribeGroups', 'ListGroups', 'SaslHandshake', 'ApiVersions',
  'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'InitProducerId', 'OffsetForLeaderEpoch', 'DescribeConfigs',
  'AlterConfigs', 'SaslAuthenticate', 'CreatePartitions', 'DeleteGroups', 'IncrementalAlterConfigs', 'DescribeCluster',
  'ElectLeaders', 'AlterPartitionReassignments', 'ListPartitionReassignments',
  'DescribeLogDirs', 'OffsetDelete',
];
/** Data formats carried inside group messages (the consumer protocol's subscription and assignment). */
export const dataMessages = ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'];

function parseRange(text) {
  if (text === undefined || text === 'none') return null;
  if (text.endsWith('+')) return [Number(text.slice(0, -1)), Infinity];
  const [a, b] = text.split('-').map(Number);
  return [a, b ?? a];
}

const camel = (name) => name[0].toLowerCase() + name.slice(1);

/** A JS condition for `v` being in `range`, simplified against the message's valid range. */
function cond(range, valid) {
  if (!range) return 'false';
  const lo = range[0] <= valid[0] ? null : `v >= ${range[0]}`;
  const hi = range[1] >= valid[1] ? null : `v <= ${range[1]}`;
  if (range[0] > valid[1] || range[1] < valid[0]) return 'false';
  return [lo, hi].filter(Boolean).join(' && ') || 'true';
}

const covers = (range, valid) => range && range[0] <= valid[0] && range[1] >= valid[1];

const primitive = {
  int8: { ts: 'number', read: 'r.int8()', write: (x) => `w.int8(${x})`, def: '0' },
  int16: { ts: 'number', read: 'r.int16()', write: (x) => `w.int16(${x})`, def: '0' },
  uint16: { ts: 'number', read: 'r.uint16()', write: (x) => `w.uint16(${x})`, def: '0' },
  int32: { ts: 'number', read: 'r.int32()', write: (x) => `w.int32(${x})`, def: '0' },
  int64: { ts: 'number', read: 'r.int64n()', write: (x) => `w.int64n(${x})`, def: '0' },
  float64: { ts: 'number', read: 'r.float64()', write: (x) => `w.float64(${x})`, def: '0' },
  bool: { ts: 'boolean', read: 'r.bool()', write: (x) => `w.bool(${x})`, def: 'false' },
  uuid: { ts: 'string', read: 'r.uuid()', write: (x) => `w.uuid(${x})`, def: "'00000000-0000-0000-0000-000000000000'" },
};

function defaultLiteral(field, nullableAlways) {
  const t = field.type;
  const d = field.default;
  if (t.startsWith('[]')) return d === 'null' ? 'null' : '[]';
  if (d === 'null') return 'null';
  if (primitive[t]) {
    if (d === undefined) return primitive[t].def;
    if (t === 'bool') return String(d) === 'true' ? 'true' : 'false';
    if (t === 'uuid') return primitive[t].def;
    return String(Number(d));
  }
  if (t === 'string') return d === undefined ? "''" : JSON.stringify(String(d));
  if (t === 'bytes') return nullableAlways ? 'null' : 'Buffer.alloc(0)';
  if (t === 'records') return 'null';
  return 'undefined';
}

export function generateMessage(specDir, name) {
  const spec = JSON.parse(readFileSync(join(specDir, `${name}.json`), 'utf8'));
  const valid = parseRange(spec.validVersions);
  const flex = parseRange(spec.flexibleVersions);
  const structs = new Map();
  const common = new Map((spec.commonStructs ?? []).map((s) => [s.name, s]));
  const typeName = (structName) => (structName.startsWith(name) ? structName : `${name}${structName}`);
  const out = [];
  const flexCond = cond(flex, valid);

  // Collects struct definitions: nested ones define their fields inline; common ones are listed once.
  function collect(structName, fields) {
    if (structs.has(structName)) return;
    structs.set(structName, fields);
    for (const f of fields) {
      const elem = f.type.replace(/^\[\]/, '');
      if (primitive[elem] || ['string', 'bytes', 'records'].includes(elem)) continue;
      if (f.fields) collect(elem, f.fields);
      else if (common.has(elem)) collect(elem, common.get(elem).fields);
      else throw new Error(`${name}: unknown type ${f.type}`);
    }
  }
  collect(name, spec.fields);

  for (const [structName, fields] of structs) {
    const tn = structName === name ? name : typeName(structName);
    // Interface.
    out.push(`export interface ${tn} {`);
    for (const f of fields) {
      const elem = f.type.replace(/^\[\]/, '');
      const isArray = f.type.startsWith('[]');
      const nullable = parseRange(f.nullableVersions) !== null;
      let ts = primitive[elem]?.ts ?? (elem === 'string' ? 'string' : elem === 'bytes' || elem === 'records' ? 'Buffer' : typeName(elem));
      if (elem === 'records') ts = 'Buffer | null';
      if (isArray) ts = `${ts.includes('|') ? `(${ts})` : ts}[]`;
      if (nullable && elem !== 'records') ts += ' | null';
      const optional = !covers(parseRange(f.versions), valid) || f.tag !== undefined || f.default !== undefined || (!isArray && !primitive[elem] && !['string', 'bytes', 'records'].includes(elem));
      out.push(`  ${camel(f.name)}${optional ? '?' : ''}: ${ts};`);
    }
    out.push('}', '');

    // Reader.
    const fixed = fields.filter((f) => f.tag === undefined);
    const tagged = fields.filter((f) => f.tag !== undefined);
    out.push(`export function read${tn}(r: Reader, v: number): ${tn} {`);
    out.push(`  const flex = ${flexCond};`);
    out.push(`  void flex;`);
    out.push(`  const o = {} as ${tn};`);
    for (const f of fixed) {
      const c = cond(parseRange(f.versions), valid);
      const dflt = defaultLiteral(f, false);
      if (c === 'false') {
        if (dflt !== 'undefined') out.push(`  o.${camel(f.name)} = ${dflt};`);
        continue;
      }
      const read = readExpr(f, 'flex');
      if (c === 'true') out.push(`  o.${camel(f.name)} = ${read};`);
      else out.push(`  if (${c}) o.${camel(f.name)} = ${read};${dflt !== 'undefined' ? ` else o.${camel(f.name)} = ${dflt};` : ''}`);
    }
    for (const f of tagged) {
      const dflt = defaultLiteral(f, false);
      if (dflt !== 'undefined') out.push(`  o.${camel(f.name)} = ${dflt};`);
    }
    if (flexCond !== 'false') {
      if (tagged.length === 0) out.push(`  if (flex) r.skipTaggedFields();`);
      else {
        out.push(`  if (flex) {`);
        out.push(`    r.taggedFields((tag) => {`);
        out.push(`      switch (tag) {`);
        for (const f of tagged) {
          const c = cond(parseRange(f.taggedVersions ?? f.versions), valid);
          out.push(`        case ${f.tag}:`);
          out.push(`          if (!(${c})) return false;`);
          out.push(`          o.${camel(f.name)} = ${readExpr(f, 'true')};`);
          out.push(`          return true;`);
        }
        out.push(`        default:`, `          return false;`, `      }`, `    });`, `  }`);
      }
    }
    out.push(`  return o;`, `}`, '');

    // Writer.
    out.push(`export function write${tn}(w: Writer, v: number, o: ${tn}): void {`);
    out.push(`  const flex = ${flexCond};`);
    out.push(`  void flex;`);
    for (const f of fixed) {
      const c = cond(parseRange(f.versions), valid);
      if (c === 'false') continue;
      const value = valueExpr(f);
      const write = writeStmt(f, value, 'flex', 'w');
      if (c === 'true') out.push(`  ${write}`);
      else out.push(`  if (${c}) ${write}`);
    }
    if (flexCond !== 'false') {
      if (tagged.length === 0) out.push(`  if (flex) w.uvarint(0);`);
      else {
        out.push(`  if (flex) {`);
        out.push(`    const tagged: Array<readonly [number, Writer]> = [];`);
        for (const f of [...tagged].sort((a, b) => a.tag - b.tag)) {
          const c = cond(parseRange(f.taggedVersions ?? f.versions), valid);
          const dflt = defaultLiteral(f, false);
          const key = `o.${camel(f.name)}`;
          const isDefault = dflt === 'undefined' ? `(${key} === undefined)` : f.type.startsWith('[]') && dflt === '[]' ? `(${key} === undefined || ${key}.length === 0)` : `(${key} === undefined || ${key} === ${dflt})`;
          out.push(`    if (${c === 'true' ? '' : `(${c}) && `}!${isDefault}) {`);
          out.push(`      const t = new Writer(64);`);
          out.push(`      ${writeStmt(f, `${key}!`, 'true', 't')}`);
          out.push(`      tagged.push([${f.tag}, t]);`);
          out.push(`    }`);
        }
        out.push(`    w.taggedFields(tagged);`, `  }`);
      }
    }
    out.push(`}`, '');
  }

  function nullableCond(f) {
    return cond(parseRange(f.nullableVersions), valid);
  }

  function elemRead(elem, f, flexExpr, nullableExpr) {
    if (primitive[elem]) return primitive[elem].read;
    const compact = flexExpr === 'true' ? true : flexExpr;
    if (elem === 'string') return pick(nullableExpr, compact, 'r.compactNullableString()', 'r.compactString()', 'r.nullableString()', 'r.string()');
    if (elem === 'bytes') return pick(nullableExpr, compact, 'r.compactNullableBytes()', 'r.compactBytes()', 'r.nullableBytes()', 'r.kafkaBytes()');
    if (elem === 'records') return pick('true', compact, 'r.compactNullableBytes()', '', 'r.nullableBytes()', '');
    return `read${typeName(elem)}(r, v)`;
  }

  function readExpr(f, flexExpr) {
    const elem = f.type.replace(/^\[\]/, '');
    const nullableExpr = nullableCond(f);
    if (f.type.startsWith('[]')) {
      const item = elemRead(elem, f, flexExpr, 'false');
      if (nullableExpr === 'false') return `r.array(${flexExpr}, () => ${item})`;
      if (nullableExpr === 'true') return `r.nullableArray(${flexExpr}, () => ${item})`;
      return `(${nullableExpr} ? r.nullableArray(${flexExpr}, () => ${item}) : r.array(${flexExpr}, () => ${item}))`;
    }
    return elemRead(elem, f, flexExpr, nullableExpr);
  }

  function valueExpr(f) {
    const dflt = defaultLiteral(f, parseRange(f.nullableVersions) !== null && covers(parseRange(f.nullableVersions), valid));
    const key = `o.${camel(f.name)}`;
    const elem = f.type.replace(/^\[\]/, '');
    if (!f.type.startsWith('[]') && !primitive[elem] && !['string', 'bytes', 'records'].includes(elem)) return `(${key} ?? ({} as ${typeName(elem)}))`;
    if (dflt === 'undefined') return key;
    // A nullable field keeps its null; only an absent value takes the default.
    return parseRange(f.nullableVersions) ? `(${key} === undefined ? ${dflt} : ${key})` : `(${key} ?? ${dflt})`;
  }

  function elemWrite(elem, x, flexExpr, nullableExpr, target) {
    if (primitive[elem]) return primitive[elem].write(x).replace(/^w\./, `${target}.`);
    if (elem === 'string') return choose(flexExpr, `${target}.compactNullableString(${x})`, `${target}.nullableString(${x})`);
    if (elem === 'bytes' || elem === 'records') return choose(flexExpr, `${target}.compactNullableBytes(${x})`, `${target}.nullableBytes(${x})`);
    return `write${typeName(elem)}(${target}, v, ${x})`;
  }

  function writeStmt(f, value, flexExpr, target) {
    const elem = f.type.replace(/^\[\]/, '');
    if (f.type.startsWith('[]')) return `${target}.array(${flexExpr}, ${value}, (x) => ${elemWrite(elem, 'x', flexExpr, 'false', target)});`;
    return `${elemWrite(elem, value, flexExpr, nullableCond(f), target)};`;
  }

  function choose(flexExpr, compact, classic) {
    if (flexExpr === 'true') return compact;
    if (flexExpr === 'false') return classic;
    return `(${flexExpr} ? ${compact} : ${classic})`;
  }

  function pick(nullableExpr, compact, cn, cs, n, s) {
    const c = compact === true ? 'true' : compact;
    const variant = (isCompact) => {
      if (nullableExpr === 'true') return isCompact ? cn : n;
      if (nullableExpr === 'false') return isCompact ? cs : s;
      return `(${nullableExpr} ? ${isCompact ? cn : n} : ${isCompact ? cs : s})`;
    };
    if (c === 'true') return variant(true);
    if (c === 'false') return variant(false);
    return `(${c} ? ${variant(true)} : ${variant(false)})`;
  }

  return { spec, valid, flex, code: out.join('\n') };
}
