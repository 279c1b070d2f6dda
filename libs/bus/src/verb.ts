// A bus verb defined once: its name, the actor that owns it, its request and reply types, and how its subject is
// built from the cluster's prefix and the owner's key (a broker id, a group shard, ...). `ask` and `serve` take an
// address made from the definition, so a sender and its server cannot disagree on the subject or the types.

/** Phantom fields: never set at run time, they carry the request and reply types through the compiler. */
interface Typed<Req, Res> {
  readonly types?: { request: (r: Req) => void; reply: () => Res };
}

export interface Verb<Req, Res, Key = void> extends Typed<Req, Res> {
  /** The last token of the subject, e.g. `produce`. */
  readonly name: string;
  /** Who serves it: documentation, and the first token after the cluster prefix. */
  readonly owner: string;
  subject(prefix: string, key: Key): string;
}

/** Where one verb of one actor is served: what `ask` sends to and `serve` listens on. */
export interface Address<Req, Res> extends Typed<Req, Res> {
  readonly subject: string;
  readonly verb: string;
}

/** A stream of events of one type (publish / subscribe), e.g. the metadata deltas. */
export interface EventStream<M> {
  readonly subject: string;
  readonly types?: { event: () => M };
}

/**
 * Defines a verb whose subject is `<prefix>.<scope>.<key>.<name>` (or `<prefix>.<scope>.<name>` for a verb without a
 * key, such as the active controller's).
 */
export function defineVerb<Req, Res, Key extends string | number | void = void>(scope: string, name: string, owner: string): Verb<Req, Res, Key> {
  return {
    name,
    owner,
    subject: (prefix, key) => (key === undefined ? `${prefix}.${scope}.${name}` : `${prefix}.${scope}.${String(key)}.${name}`),
  };
}

export function addressOf<Req, Res, Key>(verb: Verb<Req, Res, Key>, prefix: string, key: Key): Address<Req, Res> {
  return { subject: verb.subject(prefix, key), verb: verb.name };
}

/** An address for a subject built elsewhere (tests, replies to a named inbox): the caller vouches for the types. */
export function address<Req, Res>(subject: string): Address<Req, Res> {
  return { subject, verb: subject.slice(subject.lastIndexOf('.') + 1) };
}

export function eventStream<M>(subject: string): EventStream<M> {
  return { subject };
}
