// Small builders for the OpenAPI v3 schemas of the CRDs. Every field is built
// with its description, so that `kubectl explain` has something to say about
// each one; a field without a description does not type-check.

export interface Validation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Omit<Schema, 'description'> & { description?: string };
  items?: Schema;
  required?: string[];
  enum?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-validations'?: Validation[];
}

type Extra = Omit<Schema, 'description' | 'type'>;

export function string(description: string, extra: Extra = {}): Schema {
  return { type: 'string', description, ...extra };
}

export function integer(description: string, extra: Extra = {}): Schema {
  return { type: 'integer', description, ...extra };
}

export function number(description: string, extra: Extra = {}): Schema {
  return { type: 'number', description, ...extra };
}

export function boolean(description: string, extra: Extra = {}): Schema {
  return { type: 'boolean', description, ...extra };
}

export function intOrString(description: string, extra: Extra = {}): Schema {
  return { description, 'x-kubernetes-int-or-string': true, ...extra };
}

export function timestamp(description: string): Schema {
  return { type: 'string', format: 'date-time', description };
}

/** An object whose listed `required` fields must be present. */
export function object(
  description: string,
  properties: Record<string, Schema>,
  extra: Extra = {},
): Schema {
  return { type: 'object', description, properties, ...extra };
}

export function array(description: string, items: Schema, extra: Extra = {}): Schema {
  return { type: 'array', description, items, ...extra };
}

/** A map of string to string, such as labels. */
export function stringMap(description: string, extra: Extra = {}): Schema {
  return { type: 'object', description, additionalProperties: { type: 'string' }, ...extra };
}

/** Labels: bounded in number and length, so that CEL rules over them stay cheap. */
export function labelMap(description: string, extra: Extra = {}): Schema {
  return {
    type: 'object',
    description,
    maxProperties: 64,
    additionalProperties: { type: 'string', maxLength: 63 },
    ...extra,
  };
}

/** metav1.Condition, the shape every Roost status condition takes. */
export function conditions(description: string): Schema {
  return array(
    description,
    object(
      'One aspect of the current state, in the shape of metav1.Condition.',
      {
        type: string('The aspect this condition describes, such as Ready.', { maxLength: 316 }),
        status: string('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
        observedGeneration: integer('The metadata.generation this condition was computed from.', {
          minimum: 0,
        }),
        lastTransitionTime: timestamp('When the status last changed.'),
        reason: string('A one-word CamelCase reason for the last transition.', {
          maxLength: 1024,
        }),
        message: string('A human-readable explanation of the last transition.', {
          maxLength: 32768,
        }),
      },
      { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
    ),
    { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );
}
