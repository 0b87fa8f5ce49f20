/**
 * Converts form-style strings to the JSON types a route's schema declares, the way PVE's API
 * accepts `vmid=101` and `enable=1`. Only exact decimal integers ("101", "-5") and the booleans
 * "0", "1", "true", "false" are converted; anything else ("1e3", "0x50", " 80", "102.0") stays a
 * string, so that validation rejects it naming the parameter. Ajv's own coercion would accept
 * all of those.
 */

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

const integerText = /^-?(0|[1-9][0-9]{0,15})$/;
const booleanTexts: Record<string, boolean> = { '0': false, '1': true, false: false, true: true };

function hasType(schema: SchemaNode, type: string): boolean {
  return Array.isArray(schema.type) ? schema.type.includes(type) : schema.type === type;
}

export function convertFormValues(schema: SchemaNode | undefined, value: unknown): unknown {
  if (schema === undefined) return value;
  if (typeof value === 'string') {
    if ((hasType(schema, 'integer') || hasType(schema, 'number')) && integerText.test(value)) return Number(value);
    if (hasType(schema, 'boolean') && value in booleanTexts) return booleanTexts[value];
    return value;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => convertFormValues(schema.items, item));
  if (typeof value === 'object' && value !== null && schema.properties !== undefined) {
    const object = value as Record<string, unknown>;
    for (const [key, child] of Object.entries(schema.properties)) {
      if (key in object) object[key] = convertFormValues(child, object[key]);
    }
  }
  return value;
}
