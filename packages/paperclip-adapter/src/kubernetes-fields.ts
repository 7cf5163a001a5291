/**
 * Kubernetes-shaped configuration fields: their types ({@link Toleration}, {@link KeyReference}, {@link EnvValue}) and
 * parsers (quantities, object names, label and annotation maps, image pull Secrets, tolerations, env references). Each
 * accepts the shapes Paperclip's form can store (strings from text areas) as well as real JSON values.
 */
import type { ParseContext } from './config-field-schema.ts';
import { parseJsonText } from './form-values.ts';
import { describeValue, isRecord } from './raw-values.ts';

const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a quantity given as a string or a number. */
export function parseQuantity(example: string) {
  return (raw: unknown, path: string, context: ParseContext): string | undefined => {
    const value =
      typeof raw === 'number' && Number.isFinite(raw) && raw >= 0
        ? String(raw)
        : typeof raw === 'string'
          ? raw.trim()
          : undefined;
    if (value === undefined || !QUANTITY.test(value)) {
      context.issues.push({
        path,
        message: `expected a Kubernetes quantity such as ${example}, got ${describeValue(raw)}`,
      });
      return undefined;
    }
    return value;
  };
}

/** Checks a DNS-1123 label (namespaces). */
export function checkDnsLabel(value: string): string | null {
  return DNS_LABEL.test(value)
    ? null
    : 'expected a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters';
}

/** Checks a DNS-1123 subdomain (most object names). */
export function checkDnsSubdomain(value: string): string | null {
  return DNS_SUBDOMAIN.test(value)
    ? null
    : 'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", at most 253 characters';
}

function checkLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  return (
    (slash < 0 || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))) && name.length <= 63 && LABEL_NAME.test(name)
  );
}

export type StringMapKind = 'labels' | 'annotations' | 'node-selector';

/**
 * Parses a map of strings: a JSON object, a JSON text, or text with one `key=value` per line (blank lines and
 * `#` comments skipped). Label keys and values are validated for `labels` and `node-selector`.
 */
export function parseStringMap(kind: StringMapKind) {
  return (raw: unknown, path: string, context: ParseContext): Record<string, string> | undefined => {
    const parsed = parseJsonText(raw, path, context);
    if (!parsed.ok) return undefined;
    let entries: [string, unknown][];
    if (typeof parsed.value === 'string') {
      entries = [];
      for (const [index, line] of parsed.value.split(/\r?\n/).entries()) {
        const text = line.trim();
        if (text === '' || text.startsWith('#')) continue;
        const equals = text.indexOf('=');
        if (equals <= 0) {
          context.issues.push({ path, message: `line ${index + 1}: expected key=value, got ${describeValue(text)}` });
          return undefined;
        }
        entries.push([text.slice(0, equals).trim(), text.slice(equals + 1).trim()]);
      }
    } else if (isRecord(parsed.value)) {
      entries = Object.entries(parsed.value);
    } else {
      context.issues.push({
        path,
        message: `expected an object of strings or key=value lines, got ${describeValue(raw)}`,
      });
      return undefined;
    }
    const output: Record<string, string> = {};
    let failed = false;
    for (const [key, value] of entries) {
      const valueText = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
      if (typeof valueText !== 'string') {
        context.issues.push({ path: `${path}.${key}`, message: `expected a string, got ${describeValue(value)}` });
        failed = true;
        continue;
      }
      if (!checkLabelKey(key)) {
        context.issues.push({
          path: `${path}.${key}`,
          message: 'expected a Kubernetes label/annotation key such as example.com/name',
        });
        failed = true;
        continue;
      }
      if (kind !== 'annotations' && !LABEL_VALUE.test(valueText)) {
        context.issues.push({
          path: `${path}.${key}`,
          message: 'expected a label value: at most 63 letters, digits, "-", "_" or ".", alphanumeric at both ends',
        });
        failed = true;
        continue;
      }
      output[key] = valueText;
    }
    return failed ? undefined : output;
  };
}

/** Parses `imagePullSecrets`: names, as a list of strings, `{name}` objects, or lines. */
export function parseSecretNameList(raw: unknown, path: string, context: ParseContext): string[] | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  const items: unknown[] =
    typeof parsed.value === 'string'
      ? parsed.value
          .split(/[\r\n,]+/)
          .map((item) => item.trim())
          .filter(Boolean)
      : Array.isArray(parsed.value)
        ? parsed.value
        : [parsed.value];
  const names: string[] = [];
  for (const [index, item] of items.entries()) {
    const name =
      typeof item === 'string' ? item : isRecord(item) && typeof item['name'] === 'string' ? item['name'] : undefined;
    const problem =
      name === undefined ? `expected a Secret name or {name}, got ${describeValue(item)}` : checkDnsSubdomain(name);
    if (problem !== null || name === undefined) {
      context.issues.push({ path: `${path}.${index}`, message: problem ?? 'expected a Secret name' });
      return undefined;
    }
    names.push(name);
  }
  return names;
}

/** A Kubernetes toleration. @see https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** Parses `tolerations`: a JSON array (or its text) of toleration objects. */
export function parseTolerations(raw: unknown, path: string, context: ParseContext): Toleration[] | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  if (!Array.isArray(parsed.value)) {
    context.issues.push({ path, message: `expected a JSON array of tolerations, got ${describeValue(raw)}` });
    return undefined;
  }
  const output: Toleration[] = [];
  let failed = false;
  for (const [index, item] of parsed.value.entries()) {
    const itemPath = `${path}.${index}`;
    if (!isRecord(item)) {
      context.issues.push({ path: itemPath, message: `expected a toleration object, got ${describeValue(item)}` });
      failed = true;
      continue;
    }
    for (const key of Object.keys(item)) {
      if (!['key', 'operator', 'value', 'effect', 'tolerationSeconds'].includes(key)) {
        context.issues.push({
          path: `${itemPath}.${key}`,
          message: 'unknown toleration field (expected key, operator, value, effect, tolerationSeconds)',
        });
        failed = true;
      }
    }
    const { key, operator, value, effect, tolerationSeconds } = item;
    const fail = (field: string, message: string): void => {
      context.issues.push({ path: `${itemPath}.${field}`, message });
      failed = true;
    };
    if (key !== undefined && typeof key !== 'string') fail('key', 'expected a string');
    if (operator !== undefined && operator !== 'Exists' && operator !== 'Equal')
      fail('operator', 'expected Exists or Equal');
    if (value !== undefined && typeof value !== 'string') fail('value', 'expected a string');
    if (
      effect !== undefined &&
      effect !== '' &&
      effect !== 'NoSchedule' &&
      effect !== 'PreferNoSchedule' &&
      effect !== 'NoExecute'
    )
      fail('effect', 'expected NoSchedule, PreferNoSchedule or NoExecute');
    if (
      tolerationSeconds !== undefined &&
      !(typeof tolerationSeconds === 'number' && Number.isInteger(tolerationSeconds))
    )
      fail('tolerationSeconds', 'expected an integer (seconds)');
    output.push(item);
  }
  return failed ? undefined : output;
}

/** A reference to one key of a Secret or ConfigMap. */
export interface KeyReference {
  name: string;
  key: string;
  optional?: boolean;
}

/** One `env` entry of the config: a plain value (moved into the per-run Secret) or a reference kept as is. */
export type EnvValue = { value: string } | { secretKeyRef: KeyReference } | { configMapKeyRef: KeyReference };

function parseKeyReference(raw: unknown, path: string, context: ParseContext): KeyReference | undefined {
  if (!isRecord(raw) || typeof raw['name'] !== 'string' || typeof raw['key'] !== 'string') {
    context.issues.push({ path, message: 'expected {name, key, optional?}' });
    return undefined;
  }
  const problem = checkDnsSubdomain(raw['name']);
  if (problem !== null) {
    context.issues.push({ path: `${path}.name`, message: problem });
    return undefined;
  }
  return { name: raw['name'], key: raw['key'], ...(raw['optional'] === true ? { optional: true } : {}) };
}

/**
 * Parses `envRefs`: a JSON object (or its text) of name → `{secretKeyRef: {name, key, optional?}}` or
 * `{configMapKeyRef: ...}`. It is a key of its own because Paperclip's agent routes accept only its own bindings in
 * `env` (a string, `plain`, `secret_ref`, `user_secret_ref`) and refuse anything else there.
 */
export function parseEnvRefs(
  raw: unknown,
  path: string,
  context: ParseContext,
): Record<string, Exclude<EnvValue, { value: string }>> | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  if (!isRecord(parsed.value)) {
    context.issues.push({
      path,
      message: `expected a JSON object of name → {secretKeyRef: {name, key}} or {configMapKeyRef: {name, key}}, got ${describeValue(raw)}`,
    });
    return undefined;
  }
  const output: Record<string, Exclude<EnvValue, { value: string }>> = {};
  let failed = false;
  for (const [name, value] of Object.entries(parsed.value)) {
    if (!isRecord(value) || !('secretKeyRef' in value || 'configMapKeyRef' in value)) {
      context.issues.push({
        path: `${path}.${name}`,
        message: `expected {secretKeyRef: {name, key}} or {configMapKeyRef: {name, key}}, got ${describeValue(value)} (plain values belong in env)`,
      });
      failed = true;
      continue;
    }
    const entry = parseEnv({ [name]: value }, path, context)?.[name];
    if (entry === undefined || 'value' in entry) failed = true;
    else output[name] = entry;
  }
  return failed ? undefined : output;
}

/**
 * Parses `env`: a JSON object (or its text) or `KEY=value` lines. Values are strings, Paperclip plain bindings
 * `{type: "plain", value}`, or Kubernetes references `{secretKeyRef: {name, key}}` / `{configMapKeyRef: {name, key}}`.
 */
export function parseEnv(raw: unknown, path: string, context: ParseContext): Record<string, EnvValue> | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  let entries: [string, unknown][];
  if (typeof parsed.value === 'string') {
    entries = [];
    for (const line of parsed.value.split(/\r?\n/)) {
      const text = line.trim();
      if (text === '' || text.startsWith('#')) continue;
      const equals = text.indexOf('=');
      if (equals <= 0) {
        context.issues.push({ path, message: `expected KEY=value lines, got ${describeValue(text)}` });
        return undefined;
      }
      entries.push([text.slice(0, equals).trim(), text.slice(equals + 1)]);
    }
  } else if (isRecord(parsed.value)) {
    entries = Object.entries(parsed.value);
  } else {
    context.issues.push({ path, message: `expected an object of environment variables, got ${describeValue(raw)}` });
    return undefined;
  }
  const output: Record<string, EnvValue> = {};
  let failed = false;
  for (const [name, value] of entries) {
    const entryPath = `${path}.${name}`;
    if (!ENV_NAME.test(name)) {
      context.issues.push({
        path: entryPath,
        message: 'expected an environment variable name: letters, digits and "_", not starting with a digit',
      });
      failed = true;
      continue;
    }
    if (name === 'PAPERCLIP_API_KEY') {
      context.warnings.push(`${entryPath}: ignored; the run token is always minted by Paperclip for each run`);
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      output[name] = { value: String(value) };
    } else if (isRecord(value) && value['type'] === 'plain' && typeof value['value'] === 'string') {
      output[name] = { value: value['value'] };
    } else if (isRecord(value) && (value['type'] === 'secret_ref' || value['type'] === 'user_secret_ref')) {
      // Paperclip resolves its secret bindings into strings before a run; unresolved (the form, a stored config)
      // there is no value to give the pod.
      context.warnings.push(
        `${entryPath}: Paperclip ${String(value['type'])} binding not resolved here (Paperclip resolves it for runs); not passed to the pod`,
      );
    } else if (isRecord(value) && 'secretKeyRef' in value) {
      const reference = parseKeyReference(value['secretKeyRef'], `${entryPath}.secretKeyRef`, context);
      if (reference === undefined) failed = true;
      else output[name] = { secretKeyRef: reference };
    } else if (isRecord(value) && 'configMapKeyRef' in value) {
      const reference = parseKeyReference(value['configMapKeyRef'], `${entryPath}.configMapKeyRef`, context);
      if (reference === undefined) failed = true;
      else output[name] = { configMapKeyRef: reference };
    } else {
      context.issues.push({
        path: entryPath,
        message: 'expected a string, {secretKeyRef: {name, key}} or {configMapKeyRef: {name, key}}',
      });
      failed = true;
    }
  }
  return failed ? undefined : output;
}

/**
 * Parses `workspace.gitCredentialsEnv`: like `envRefs`, but only `secretKeyRef` (credentials never come from a
 * ConfigMap or as a value).
 */
export function parseGitCredentialsEnv(
  raw: unknown,
  path: string,
  context: ParseContext,
): Record<string, { secretKeyRef: KeyReference }> | undefined {
  const parsed = parseJsonText(raw, path, context);
  if (!parsed.ok) return undefined;
  if (!isRecord(parsed.value)) {
    context.issues.push({
      path,
      message: `expected a JSON object of name → {secretKeyRef: {name, key}}, got ${describeValue(raw)}`,
    });
    return undefined;
  }
  const references: Record<string, unknown> = {};
  let failed = false;
  for (const [name, value] of Object.entries(parsed.value)) {
    if (!isRecord(value) || !('secretKeyRef' in value) || Object.keys(value).length !== 1) {
      // The value is never echoed: it may be the credential itself.
      context.issues.push({
        path: `${path}.${name}`,
        message:
          'expected {secretKeyRef: {name, key}}: git credentials come from a Secret only (no plain values, no ConfigMaps)',
      });
      failed = true;
      continue;
    }
    references[name] = value;
  }
  const output = parseEnvRefs(references, path, context);
  if (failed || output === undefined) return undefined;
  return output as Record<string, { secretKeyRef: KeyReference }>;
}
