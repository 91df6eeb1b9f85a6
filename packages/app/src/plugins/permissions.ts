/**
 * A plugin's grant in plain words, one line per thing it may do: what the owner confirms before
 * installing, and what the Plugins view shows. The grant's meaning is @pod/protocol's
 * `parsePermissions` (the Pod enforces exactly that); this only puts it into words.
 */
import { parsePermissions, type TypeRule } from '@pod/protocol';

/** `Message` → `Messages`, `Person` → `Persons`, `Address` → `Addresses`, `Story` → `Stories`. */
export function plural(type: string): string {
  if (/(s|x|z|ch|sh)$/.test(type)) return `${type}es`;
  if (/[^aeiou]y$/.test(type)) return `${type.slice(0, -1)}ies`;
  return `${type}s`;
}

/** Services whose names are not just capitalized. */
const SERVICE_NAMES: Record<string, string> = { gitlab: 'GitLab', github: 'GitHub', linkedin: 'LinkedIn' };
export const serviceName = (name: string) => SERVICE_NAMES[name] ?? name.charAt(0).toUpperCase() + name.slice(1);

const list = (words: string[]) => words.join(', ');

/** ` (subject, body)`, nothing for every property; `, only those whose service is "demo"` for a `where`. */
function scope(rule: TypeRule): string {
  const properties =
    rule.properties === '*' ? '' : ` (${rule.properties.size ? list([...rule.properties]) : 'no properties'})`;
  const where = [...rule.where].map(([name, value]) => `${name} is ${JSON.stringify(value)}`).join(' and ');
  return `${properties}${where ? `, only those whose ${where}` : ''}`;
}

/**
 * The grant of a Plugin (`permissions`, the JSON of plugin.json's `permissions`) in words; `service`,
 * when the plugin logs in to one, adds that it keeps its log-in on an Account in the Pod. Throws
 * the Pod's own message when the permissions are not valid.
 */
export function describePermissions(permissions: unknown, service?: string): string[] {
  const grant = parsePermissions(permissions);
  const lines: string[] = [];
  for (const [type, rule] of grant.read) lines.push(`reads your ${plural(type)}${scope(rule)}`);
  for (const [type, rule] of grant.write) {
    const changes =
      rule.items === 'all'
        ? `, and may change and delete any of your ${plural(type)}`
        : ', and changes and deletes only the ones it made';
    lines.push(`creates ${plural(type)}${scope(rule)}${changes}`);
  }
  if (grant.email) lines.push('sends email');
  for (const platform of grant.oauth) lines.push(`uses your ${serviceName(platform)} account`);
  if (service)
    lines.push(`logs in to your ${serviceName(service)} account, keeping the log-in on an Account in your Pod`);
  if (lines.length === 0) lines.push('uses none of your data (only its own runs)');
  return lines;
}
