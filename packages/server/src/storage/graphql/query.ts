/**
 * The Pod's GraphQL dialect (spec §4.2–4.4): query text → a checked `GraphqlQuery`, before any data
 * is read. The reference parser (`graphql`) does the lexing and parsing; its lexer rejects `~`, so
 * each `~` is read as `_` (same length: every position in an error stays right) and the token list
 * then says where one stood: only in front of an edge field's name (a reverse edge), in a string
 * (whose value is read again from the original text) or in a comment.
 */
import { BASE_FIELDS, type ValueType } from '@pod/protocol';
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  parse,
  type ArgumentNode,
  type FieldNode,
  type SelectionSetNode,
  type Token,
  type ValueNode,
} from 'graphql';
import { badRequest } from '../../errors.js';
import { describe, encodeValue, isBaseField } from '../schema.js';

/** A property of the owner's schema by name (its number and value type), undefined when it has none. */
export type PropertyTypes = (name: string) => { prop: number; valueType: ValueType } | undefined;

/** A base field or schema property that a filter or an ordering names. */
export interface Field {
  name: string;
  valueType: ValueType;
  /** The property's number in the schema; null for a base field (a column of its own). */
  prop: number | null;
}

export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in'] as const;
export type Operator = (typeof OPERATORS)[number];

/** A Text property a full-text condition is narrowed to. */
export interface TextField {
  name: string;
  prop: number;
  valueType: 'Text';
}

/**
 * A filter: all / any of its parts, one comparison (values in the equality index's form, Bool as
 * 1/0), or full text (ours, `_text`: every word found, in `field` or in any Text property).
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { field: Field; op: Operator; value: string | number | null | (string | number)[] }
  | { text: string; field?: TextField };

/** What one list of items (the roots of a type, or an edge's other ends) selects and how it is cut. */
export interface Level {
  filter?: Condition;
  order?: { field: Field; descending: boolean };
  offset: number;
  limit?: number;
  /** Selected properties (base fields left out: those are always there), in query order. */
  properties: Field[];
  edges: EdgeLevel[];
}

export interface EdgeLevel extends Level {
  /** The field as written, the answer's key: `sender`, `~owner`. */
  key: string;
  name: string;
  reverse: boolean;
}

export interface RootLevel extends Level {
  type: string;
}

export interface GraphqlQuery {
  roots: RootLevel[];
  count: boolean;
  total: boolean;
}

/** Past this many nested edge levels a query is refused (the spec asks for at least 8). */
export const MAX_DEPTH = 16;
/** Bounds the parser's work on one query; a query far larger than any real one is refused. */
const MAX_TOKENS = 20_000;
/** Braces, brackets and parentheses open at once: far more than MAX_DEPTH edges and any real filter need. */
const MAX_NESTING = 128;
const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);
const ARGUMENTS = new Set(['filter', 'limit', 'offset', 'order_asc', 'order_desc']);

const q = (text: string) => JSON.stringify(text);
const where = (source: Source, position: number) => {
  const text = source.body.slice(0, position);
  const line = text.split('\n').length;
  return `line ${line}, column ${position - text.lastIndexOf('\n')}`;
};

/** Parses and checks a query against the dialect and the owner's schema; every problem is a 400 naming it. */
export function parseQuery(text: string, types: PropertyTypes): GraphqlQuery {
  const source = new Source(text.replaceAll('~', '_'));
  const original = new Source(text);
  let document: ReturnType<typeof parse>;
  try {
    checkNesting(source, original);
    document = parse(source, { maxTokens: MAX_TOKENS });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const position = error.positions?.[0] ?? 0;
    // The message quotes the token as read: `_` where the query has `~`.
    const message = text[position] === '~' ? error.message.replace('"_', '"~') : error.message;
    throw badRequest(`GraphQL ${message.replace(/\.$/, '')} (at ${where(original, position)})`);
  }
  const tokens = tildeTokens(document.loc?.startToken, text, original);
  const reader = new Reader(original, types, tokens);
  return reader.document(document);
}

/**
 * The parser recurses once per nested `{`, `[` or `(`: a few thousand would overflow the stack, so
 * the tokens are counted first (the lexer does not recurse) and a query nesting deeper is refused.
 */
function checkNesting(source: Source, original: Source) {
  const lexer = new Lexer(source);
  let depth = 0;
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
    if (OPENING.has(token.kind)) depth++;
    else if (CLOSING.has(token.kind)) depth--;
    if (depth > MAX_NESTING)
      throw badRequest(
        `GraphQL: the query nests more than ${MAX_NESTING} levels of braces, brackets and parentheses ` +
          `(at ${where(original, token.start)})`,
      );
  }
}

/**
 * Where the query had a `~`: name tokens that are reverse edge names (`~name`), by start offset,
 * and strings whose value is read again from the original text. A `~` anywhere else is a 400.
 */
function tildeTokens(first: Token | null | undefined, text: string, original: Source) {
  const reverseNames = new Set<number>();
  const strings = new Map<number, string>();
  for (let token = first; token; token = token.next) {
    const slice = text.slice(token.start, token.end);
    if (!slice.includes('~') || token.kind === TokenKind.COMMENT) continue;
    if (token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING) {
      strings.set(token.start, new Lexer(new Source(slice)).advance().value);
      continue;
    }
    if (token.kind === TokenKind.NAME && slice.lastIndexOf('~') === 0 && slice.length > 1) {
      reverseNames.add(token.start);
      continue;
    }
    throw badRequest(
      'GraphQL syntax error: "~" may only start a reverse edge\'s name, as in "~owner { id }" ' +
        `(at ${where(original, token.start + slice.indexOf('~'))})`,
    );
  }
  return { reverseNames, strings };
}

/** A value as written, before it is checked against what it is used for. */
type Written = string | number | boolean | null | BareName | Written[] | { [key: string]: Written };
/** A bare name as a value (`order_asc: dateReceived`): allowed only where a property name is expected. */
class BareName {
  constructor(readonly name: string) {}
}
const isBareName = (value: Written): value is BareName => value instanceof BareName;

class Reader {
  constructor(
    private readonly source: Source,
    private readonly types: PropertyTypes,
    private readonly tildes: { reverseNames: Set<number>; strings: Map<number, string> },
  ) {}

  private at(node: { loc?: { start: number } | undefined }) {
    return where(this.source, node.loc?.start ?? 0);
  }

  private isReverse(node: { loc?: { start: number } | undefined }) {
    return node.loc !== undefined && this.tildes.reverseNames.has(node.loc.start);
  }

  document(document: ReturnType<typeof parse>): GraphqlQuery {
    const [operation, ...more] = document.definitions;
    if (operation?.kind !== Kind.OPERATION_DEFINITION || more.length > 0)
      throw badRequest(
        'GraphQL: a query is one "query { … }" (fragments and several operations are not supported) ' +
          `(at ${this.at(more[0] ?? operation ?? document)})`,
      );
    if (operation.operation !== 'query')
      throw badRequest(`GraphQL: only queries are supported, not ${operation.operation}s (at ${this.at(operation)})`);
    const [variable] = operation.variableDefinitions ?? [];
    if (variable)
      throw badRequest(`GraphQL: variables are not supported; put the values in the query (at ${this.at(variable)})`);
    const [directive] = operation.directives ?? [];
    if (directive) this.noDirectives(directive);
    if (operation.name && this.isReverse(operation.name))
      throw badRequest(`GraphQL: a query's name cannot start with "~" (at ${this.at(operation.name)})`);
    const query: GraphqlQuery = { roots: [], count: false, total: false };
    for (const field of this.fields(operation.selectionSet)) {
      const name = field.name.value;
      if (this.isReverse(field.name))
        throw badRequest(`GraphQL: a query's top level selects item types, not a reverse edge (at ${this.at(field)})`);
      if (name === 'count' || name === 'total') {
        if (field.arguments?.length || field.selectionSet)
          throw badRequest(
            `GraphQL: the aggregate "${name}" takes no arguments and no selection (at ${this.at(field)})`,
          );
        query[name] = true;
        continue;
      }
      query.roots.push({ type: name, ...this.level(field, 1) });
    }
    if (query.roots.length === 0)
      throw badRequest('GraphQL: the query selects no item type; name one, as in "query { Person { id } }"');
    return query;
  }

  private noDirectives(directive: { name: { value: string }; loc?: { start: number } }): never {
    throw badRequest(`GraphQL: directives (@${directive.name.value}) are not supported (at ${this.at(directive)})`);
  }

  /** The fields of a selection set: no fragments, aliases or directives. */
  private fields(set: SelectionSetNode): FieldNode[] {
    return set.selections.map((selection) => {
      if (selection.kind !== Kind.FIELD)
        throw badRequest(`GraphQL: fragments are not supported; list the fields (at ${this.at(selection)})`);
      if (selection.alias)
        throw badRequest(`GraphQL: aliases are not supported ("${selection.alias.value}:") (at ${this.at(selection)})`);
      const [directive] = selection.directives ?? [];
      if (directive) this.noDirectives(directive);
      return selection;
    });
  }

  /** The arguments and selection of a root or an edge field; `depth` counts edge levels from the root (1). */
  private level(field: FieldNode, depth: number): Level {
    if (depth > MAX_DEPTH + 1)
      throw badRequest(`GraphQL: edges nest at most ${MAX_DEPTH} levels deep (at ${this.at(field)})`);
    const level: Level = { offset: 0, properties: [], edges: [], ...this.arguments(field.arguments ?? []) };
    const keys = new Set<string>();
    for (const child of field.selectionSet ? this.fields(field.selectionSet) : []) {
      const reverse = this.isReverse(child.name);
      const name = reverse ? child.name.value.slice(1) : child.name.value;
      const key = reverse ? `~${name}` : name;
      if (!child.selectionSet) {
        if (reverse)
          throw badRequest(
            `GraphQL: reverse edge ${q(key)} needs a selection, as in "${key} { id }" (at ${this.at(child)})`,
          );
        if (child.arguments?.length)
          throw badRequest(
            `GraphQL: property ${q(name)} takes no arguments; only edges (fields with a selection) do ` +
              `(at ${this.at(child)})`,
          );
        const property = this.field(name, child);
        if (property.prop === null || level.properties.some((selected) => selected.name === name)) continue;
      }
      if (keys.has(key))
        throw badRequest(`GraphQL: field ${q(key)} is selected twice with different meanings (at ${this.at(child)})`);
      keys.add(key);
      if (child.selectionSet) level.edges.push({ key, name, reverse, ...this.level(child, depth + 1) });
      else level.properties.push(this.field(name, child));
    }
    return level;
  }

  private arguments(nodes: readonly ArgumentNode[]): Partial<Level> {
    const args = new Map<string, ArgumentNode>();
    for (const node of nodes) {
      const name = node.name.value;
      if (!ARGUMENTS.has(name) || this.isReverse(node.name))
        throw badRequest(
          `GraphQL: unknown argument ${q(this.isReverse(node.name) ? `~${name.slice(1)}` : name)}; ` +
            `use filter, limit, offset, order_asc or order_desc (at ${this.at(node)})`,
        );
      if (args.has(name)) throw badRequest(`GraphQL: argument ${q(name)} is given twice (at ${this.at(node)})`);
      args.set(name, node);
    }
    const level: Partial<Level> = {};
    const ascending = args.get('order_asc');
    const descending = args.get('order_desc');
    if (ascending && descending)
      throw badRequest(`GraphQL: give order_asc or order_desc, not both (at ${this.at(descending)})`);
    const order = ascending ?? descending;
    if (order) {
      const value = this.value(order.value);
      const name = isBareName(value) ? value.name : value;
      if (typeof name !== 'string')
        throw badRequest(
          `GraphQL: ${order.name.value} takes a property name, got ${describe(name)} (at ${this.at(order)})`,
        );
      level.order = { field: this.field(name, order), descending: order === descending };
    }
    for (const name of ['offset', 'limit'] as const) {
      const node = args.get(name);
      if (!node) continue;
      const value = this.value(node.value);
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
        throw badRequest(`GraphQL: ${name} must be an integer ≥ 0, got ${describe(value)} (at ${this.at(node)})`);
      level[name] = value;
    }
    const filter = args.get('filter');
    if (filter) level.filter = this.filter(this.value(filter.value), filter);
    return level;
  }

  /** A name a filter or an ordering uses: a base field or a schema property (edges are not filterable). */
  private field(name: string, node: { loc?: { start: number } }): Field {
    if (isBaseField(name)) return { name, valueType: BASE_FIELDS[name as keyof typeof BASE_FIELDS], prop: null };
    const property = this.types(name);
    if (property === undefined) throw badRequest(`Property ${name} does not exist in schema (at ${this.at(node)})`);
    return { name, valueType: property.valueType, prop: property.prop };
  }

  /** A filter object (spec §4.3): property first, operator first, shorthand, and/or; entries ANDed. */
  private filter(value: Written, node: ArgumentNode | ValueNode): Condition {
    if (!isObject(value))
      throw badRequest(
        `GraphQL: a filter is an object such as {name: {eq: "Alice"}}, got ${describe(value)} (at ${this.at(node)})`,
      );
    const all: Condition[] = [];
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'and' || key === 'or') {
        if (!Array.isArray(inner))
          throw badRequest(`GraphQL: "${key}" takes a list of filters, got ${describe(inner)} (at ${this.at(node)})`);
        const parts = inner.map((part) => this.filter(part, node));
        all.push(key === 'and' ? { all: parts } : { any: parts });
      } else if (key === TEXT) {
        all.push({ text: this.text(inner, node) });
      } else if (isOperator(key)) {
        if (!isObject(inner))
          throw badRequest(
            `GraphQL: operator-first "${key}" takes an object of properties, as in {${key}: {name: "Alice"}}, ` +
              `got ${describe(inner)} (at ${this.at(node)})`,
          );
        for (const [name, operand] of Object.entries(inner))
          all.push(this.comparison(this.field(name, node), key, operand, node));
      } else {
        const field = this.field(key, node);
        if (isObject(inner)) {
          for (const [op, operand] of Object.entries(inner)) {
            if (op === TEXT) {
              all.push({ text: this.text(operand, node), field: this.textField(field, node) });
              continue;
            }
            if (!isOperator(op))
              throw badRequest(
                `GraphQL: unknown filter operator ${q(op)} on ${q(key)}; use ${OPERATORS.join(', ')} ` +
                  `(at ${this.at(node)})`,
              );
            all.push(this.comparison(field, op, operand, node));
          }
        } else all.push(this.comparison(field, 'eq', inner, node));
      }
    }
    const [only] = all;
    return only && all.length === 1 ? only : { all };
  }

  /** A `_text` operand: words to find (the full-text index checks that some are searchable). */
  private text(operand: Written, node: ArgumentNode | ValueNode): string {
    if (typeof operand !== 'string')
      throw badRequest(`GraphQL: "_text" takes a string of words, got ${describe(operand)} (at ${this.at(node)})`);
    return operand;
  }

  private textField(field: Field, node: ArgumentNode | ValueNode): TextField {
    if (field.valueType !== 'Text' || field.prop === null)
      throw badRequest(`GraphQL: "_text" searches Text properties; ${q(field.name)} is not one (at ${this.at(node)})`);
    return { name: field.name, prop: field.prop, valueType: field.valueType };
  }

  private comparison(field: Field, op: Operator, operand: Written, node: ArgumentNode | ValueNode): Condition {
    const { name, valueType } = field;
    const at = ` (at ${this.at(node)})`;
    if (operand === null) {
      if (op !== 'eq' && op !== 'ne')
        throw badRequest(
          `GraphQL: null compares only with eq (no value) or ne (has a value), not ${op} on ${q(name)}${at}`,
        );
      return { field, op, value: null };
    }
    if (valueType === 'Bool' && op !== 'eq' && op !== 'ne' && op !== 'in')
      throw badRequest(`GraphQL: ${q(name)} is Bool: it compares only with eq, ne and in, not ${op}${at}`);
    const checked = (value: Written) => {
      if (isBareName(value)) throw badRequest(`GraphQL: ${q(value.name)} is not a value; quote it as a string${at}`);
      if (typeof value === 'object' && value !== null)
        throw badRequest(
          `GraphQL: filter on ${q(name)} with ${op} takes a ${valueType} value, got ${describe(value)}${at}`,
        );
      try {
        return encodeValue(name, valueType, value).index;
      } catch (error) {
        throw badRequest(`GraphQL filter: ${(error as Error).message}${at}`);
      }
    };
    if (op === 'in') {
      if (!Array.isArray(operand))
        throw badRequest(`GraphQL: "in" on ${q(name)} takes a list, got ${describe(operand)}${at}`);
      return { field, op, value: operand.map(checked) };
    }
    return { field, op, value: checked(operand) };
  }

  /** A written value: strings, numbers, booleans, null, bare names, lists and objects (no variables). */
  private value(node: ValueNode): Written {
    switch (node.kind) {
      case Kind.STRING:
        return (node.loc && this.tildes.strings.get(node.loc.start)) ?? node.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(node.value);
      case Kind.BOOLEAN:
        return node.value;
      case Kind.NULL:
        return null;
      case Kind.ENUM:
        return new BareName(node.value);
      case Kind.LIST:
        return node.values.map((value) => this.value(value));
      case Kind.OBJECT: {
        const object: Record<string, Written> = {};
        for (const field of node.fields) {
          const key = this.isReverse(field.name) ? `~${field.name.value.slice(1)}` : field.name.value;
          if (Object.hasOwn(object, key))
            throw badRequest(`GraphQL: key ${q(key)} is given twice (at ${this.at(field)})`);
          object[key] = this.value(field.value);
        }
        return object;
      }
      default:
        throw badRequest(`GraphQL: variables are not supported; put the value in the query (at ${this.at(node)})`);
    }
  }
}

const isObject = (value: Written): value is Record<string, Written> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !isBareName(value);
const isOperator = (key: string): key is Operator => (OPERATORS as readonly string[]).includes(key);
/** Ours: full-text search, as search's `_text` key (no property starts with `_`, so it cannot clash). */
const TEXT = '_text';

/** Per list of the query: the item type when known (roots) and the names its filter and ordering read. */
export function filteredNames(query: GraphqlQuery): { type?: string; names: string[] }[] {
  const lists: { type?: string; names: string[] }[] = [];
  const namesOf = (condition: Condition | undefined): string[] =>
    !condition
      ? []
      : 'all' in condition
        ? condition.all.flatMap(namesOf)
        : 'any' in condition
          ? condition.any.flatMap(namesOf)
          : condition.field
            ? [condition.field.name]
            : [];
  const visit = (level: Level, type?: string) => {
    const names = [...namesOf(level.filter), ...(level.order ? [level.order.field.name] : [])];
    lists.push(type === undefined ? { names } : { type, names });
    for (const edge of level.edges) visit(edge);
  };
  for (const root of query.roots) visit(root, root.type);
  return lists;
}
