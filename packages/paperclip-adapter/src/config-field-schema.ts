/**
 * A small schema library for the adapter configuration: one tree of field definitions from which the validator,
 * the TypeScript types, Paperclip's form schema and the markdown doc are all derived. Hand-rolled on purpose (see
 * docs/decisions/adapter-hand-rolled-config-schema.md): it needs dot-paths in every issue, Kubernetes-specific leaf
 * types and form metadata (label, hint, group, unit), and it must not add a runtime dependency to the adapter.
 */
import type { ConfigFieldSchema } from '@paperclipai/adapter-utils';
import { describeValue, isRecord, isUnset } from './raw-values.ts';

/** One problem found in the input, with the dot-path of the field it belongs to. */
export interface ConfigIssue {
  /** Dot-path of the offending field, e.g. `resources.limits.memory`; `''` for the whole object. */
  path: string;
  /** What was expected, e.g. `expected a Kubernetes quantity such as 512Mi`. */
  message: string;
}

/** Collects issues and warnings while a value is parsed. */
export interface ParseContext {
  issues: ConfigIssue[];
  warnings: string[];
}

/** The UI group a field is shown in. */
export type FieldGroup =
  | 'Claude Code'
  | 'Budget'
  | 'Prompt'
  | 'Kubernetes'
  | 'Scheduling'
  | 'Session & lifecycle'
  | 'Connectivity & credentials';

/** Human-facing metadata of a field. */
export interface FieldMeta {
  label: string;
  /** One or two sentences shown under the form field and in the configuration doc. */
  hint: string;
  group: FieldGroup;
  /** Unit of a number, e.g. `seconds`. */
  unit?: string;
  required?: boolean;
  /** Overrides the form control derived from the leaf type. */
  ui?: ConfigFieldSchema['type'];
  /** Options of a select/combobox; derived from an enum when absent. */
  options?: readonly { label: string; value: string }[];
  /** Kubernetes API field this maps to, for the doc. */
  see?: string;
}

/** A leaf of the schema: one form field, one value. */
export interface LeafNode<T, HasDefault extends boolean = boolean> {
  readonly kind: 'leaf';
  /** Short type description for the doc, e.g. `string`, `integer ≥ 0`, `Kubernetes quantity`. */
  readonly typeLabel: string;
  readonly meta: FieldMeta;
  readonly defaultValue: T | undefined;
  readonly formControl: ConfigFieldSchema['type'];
  readonly enumValues?: readonly string[];
  /** Parses a present (not `undefined`, `null` or `''`) raw value; pushes issues and returns `undefined` on failure. */
  readonly parse: (raw: unknown, path: string, context: ParseContext) => T | undefined;
  /** Phantom member carrying the types; never set. */
  readonly types?: { value: T; hasDefault: HasDefault };
}

/** A nested object of fields. */
export interface ObjectNode<Fields extends Record<string, SchemaNode>> {
  readonly kind: 'object';
  readonly fields: Fields;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any leaf or object fits
export type SchemaNode = LeafNode<any> | ObjectNode<any>;

type HasDefaultOf<N> = N extends { readonly types?: { hasDefault: infer D } } ? D : false;
type RequiredKeys<F> = {
  [K in keyof F]: F[K] extends ObjectNode<Record<string, SchemaNode>> ? K : HasDefaultOf<F[K]> extends true ? K : never;
}[keyof F];
type OptionalKeys<F> = Exclude<keyof F, RequiredKeys<F>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The parsed value of a schema node: fields with a default are always present, others may be `undefined`. */
export type InferSchema<N> =
  N extends ObjectNode<infer F>
    ? Simplify<
        { [K in RequiredKeys<F>]: InferSchema<F[K]> } & { [K in OptionalKeys<F>]?: InferSchema<F[K]> | undefined }
      >
    : N extends LeafNode<infer T>
      ? T
      : never;

interface LeafOptions<T> extends FieldMeta {
  default?: T;
}

function leaf<T>(
  options: LeafOptions<T>,
  typeLabel: string,
  formControl: ConfigFieldSchema['type'],
  parse: LeafNode<T>['parse'],
  enumValues?: readonly string[],
): LeafNode<T> {
  const { default: defaultValue, ...meta } = options;
  const node: LeafNode<T> = {
    kind: 'leaf',
    typeLabel,
    meta,
    defaultValue,
    formControl: meta.ui ?? formControl,
    parse,
    ...(enumValues === undefined ? {} : { enumValues }),
  };
  return node;
}

/** Builds an object node. */
export function object<Fields extends Record<string, SchemaNode>>(fields: Fields): ObjectNode<Fields> {
  return { kind: 'object', fields };
}

type Leaf<T, O> = LeafNode<T, O extends { default: unknown } ? true : false>;

interface StringOptions extends LeafOptions<string> {
  /** Extra check of a non-empty string; returns an error message or `null`. */
  check?: (value: string) => string | null;
  typeLabel?: string;
}

/** A non-empty string (empty strings count as unset). */
export function string<O extends StringOptions>(options: O): Leaf<string, O> {
  return leaf<string>(options, options.typeLabel ?? 'string', 'text', (raw, path, context) => {
    if (typeof raw !== 'string') {
      context.issues.push({ path, message: `expected a string, got ${describeValue(raw)}` });
      return undefined;
    }
    const value = raw.trim();
    const problem = options.check?.(value) ?? null;
    if (problem !== null) {
      context.issues.push({ path, message: problem });
      return undefined;
    }
    return value;
  }) as Leaf<string, O>;
}

interface NumberOptions extends LeafOptions<number> {
  integer?: boolean;
  min?: number;
  max?: number;
}

/** A number; numeric strings are accepted because text inputs store strings. */
export function number<O extends NumberOptions>(options: O): Leaf<number, O> {
  const integer = options.integer ?? true;
  const bounds = [
    options.min === undefined ? '' : `≥ ${options.min}`,
    options.max === undefined ? '' : `≤ ${options.max}`,
  ]
    .filter(Boolean)
    .join(', ');
  const typeLabel = `${integer ? 'integer' : 'number'}${bounds ? ` (${bounds})` : ''}`;
  return leaf<number>(options, typeLabel, 'number', (raw, path, context) => {
    const value =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)
          ? Number(raw)
          : Number.NaN;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      context.issues.push({
        path,
        message: `expected ${integer ? 'an integer' : 'a number'}, got ${describeValue(raw)}`,
      });
      return undefined;
    }
    if ((options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) {
      context.issues.push({ path, message: `expected ${typeLabel}, got ${value}` });
      return undefined;
    }
    return value;
  }) as Leaf<number, O>;
}

/** A boolean; `"true"`/`"false"` strings are accepted. */
export function boolean<O extends LeafOptions<boolean>>(options: O): Leaf<boolean, O> {
  return leaf<boolean>(options, 'boolean', 'toggle', (raw, path, context) => {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    context.issues.push({ path, message: `expected true or false, got ${describeValue(raw)}` });
    return undefined;
  }) as Leaf<boolean, O>;
}

/** One of a fixed list of strings. */
export function enumeration<const V extends string, O extends LeafOptions<V>>(
  values: readonly V[],
  options: O,
): Leaf<V, O> {
  return leaf<V>(
    options,
    values.map((value) => `\`${value}\``).join(' \\| '),
    'select',
    (raw, path, context) => {
      if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as V;
      context.issues.push({ path, message: `expected one of ${values.join(', ')}, got ${describeValue(raw)}` });
      return undefined;
    },
    values,
  ) as Leaf<V, O>;
}

interface CustomOptions<T> extends LeafOptions<T> {
  typeLabel: string;
  formControl: ConfigFieldSchema['type'];
  parse: LeafNode<T>['parse'];
}

/** A leaf with its own parser (maps, lists, JSON objects, env). */
export function custom<T>(options: CustomOptions<T> & { default: T }): LeafNode<T, true>;
export function custom<T>(options: CustomOptions<T>): LeafNode<T, false>;
export function custom<T>(options: CustomOptions<T>): LeafNode<T> {
  const { typeLabel, formControl, parse, ...rest } = options;
  return leaf<T>(rest, typeLabel, formControl, parse);
}

/** Parses `input` against an object node; unknown keys are reported through `onUnknownKey`. */
export function parseObjectNode<Fields extends Record<string, SchemaNode>>(
  node: ObjectNode<Fields>,
  input: Record<string, unknown>,
  prefix: string,
  context: ParseContext,
  onUnknownKey: (path: string) => void,
): InferSchema<ObjectNode<Fields>> {
  const output: Record<string, unknown> = {};
  for (const [key, child] of Object.entries<SchemaNode>(node.fields)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const raw = input[key];
    if (child.kind === 'object') {
      if (!isUnset(raw) && !isRecord(raw)) {
        context.issues.push({ path, message: `expected an object, got ${describeValue(raw)}` });
        output[key] = parseObjectNode(child as ObjectNode<Record<string, SchemaNode>>, {}, path, context, onUnknownKey);
        continue;
      }
      output[key] = parseObjectNode(
        child as ObjectNode<Record<string, SchemaNode>>,
        isRecord(raw) ? raw : {},
        path,
        context,
        onUnknownKey,
      );
      continue;
    }
    const leafNode = child as LeafNode<unknown>;
    if (isUnset(raw)) {
      if (leafNode.meta.required === true) context.issues.push({ path, message: 'required' });
      if (leafNode.defaultValue !== undefined) output[key] = structuredClone(leafNode.defaultValue);
      continue;
    }
    const value = leafNode.parse(raw, path, context);
    if (value !== undefined) output[key] = value;
    else if (leafNode.defaultValue !== undefined) output[key] = structuredClone(leafNode.defaultValue);
  }
  for (const key of Object.keys(input)) {
    if (!(key in node.fields)) onUnknownKey(prefix ? `${prefix}.${key}` : key);
  }
  return output as InferSchema<ObjectNode<Fields>>;
}

/** Every leaf of a tree with its dot-path, in declaration order. */
export function listLeaves(
  node: ObjectNode<Record<string, SchemaNode>>,
  prefix = '',
): { path: string; leaf: LeafNode<unknown> }[] {
  const leaves: { path: string; leaf: LeafNode<unknown> }[] = [];
  for (const [key, child] of Object.entries(node.fields)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child.kind === 'object') leaves.push(...listLeaves(child as ObjectNode<Record<string, SchemaNode>>, path));
    else leaves.push({ path, leaf: child as LeafNode<unknown> });
  }
  return leaves;
}
