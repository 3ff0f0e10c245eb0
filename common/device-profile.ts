// Device profiles: what a device exposes (register map, types, scaling, units, write permission),
// as data files validated by schema. The gateway's drivers read them; the plant simulator serves
// the same files, so simulator and gateway cannot disagree about a register.

export const registerAreas = ['coil', 'discrete', 'holding', 'input'] as const;
export type RegisterArea = (typeof registerAreas)[number];

export const registerTypes = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
export type RegisterType = (typeof registerTypes)[number];

export type Endianness = 'big' | 'little';

export interface ProfileTag {
  /** Tag name inside the device; the full tag path is `{line}/{device}/{name}`. */
  readonly name: string;
  readonly area: RegisterArea;
  readonly address: number;
  readonly type: RegisterType;
  /** Engineering value = raw * scale + offset. */
  readonly scale?: number;
  readonly offset?: number;
  readonly unit?: string;
  readonly writable?: boolean;
  /** Word order of 32/64-bit values: big = most significant word first. */
  readonly wordOrder?: Endianness;
  /** Byte order inside each 16-bit register. */
  readonly byteOrder?: Endianness;
  readonly description?: string;
}

export interface DeviceProfile {
  readonly profile: string;
  readonly description?: string;
  readonly protocol: 'modbus';
  readonly wordOrder?: Endianness;
  readonly byteOrder?: Endianness;
  readonly tags: readonly ProfileTag[];
}

const endianness = { type: 'string', enum: ['big', 'little'] } as const;

export const deviceProfileSchema = {
  $id: 'millwright/device-profile',
  type: 'object',
  additionalProperties: false,
  required: ['profile', 'protocol', 'tags'],
  properties: {
    profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
    description: { type: 'string' },
    protocol: { type: 'string', enum: ['modbus'] },
    wordOrder: endianness,
    byteOrder: endianness,
    tags: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'area', 'address', 'type'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' },
          area: { type: 'string', enum: [...registerAreas] },
          address: { type: 'integer', minimum: 0, maximum: 65_535 },
          type: { type: 'string', enum: [...registerTypes] },
          scale: { type: 'number' },
          offset: { type: 'number' },
          unit: { type: 'string' },
          writable: { type: 'boolean' },
          wordOrder: endianness,
          byteOrder: endianness,
          description: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Number of 16-bit registers (or bits, for coil/discrete) a type occupies. */
export function registerCount(type: RegisterType): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
  }
}
