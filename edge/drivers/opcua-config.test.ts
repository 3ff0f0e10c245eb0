// The OPC UA device schema through the real config loader: a documented example entry loads with
// its defaults filled in, and the mistakes the schema exists for are refused with a named field.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../common/config.ts';
import type { MillwrightError } from '../../common/errors.ts';
import { opcuaDeviceSchema, type OpcUaDeviceConfig } from './opcua-config.ts';

const example = `
id: press-1
driver: opcua
endpointUrl: opc.tcp://10.0.4.21:4840
securityMode: SignAndEncrypt
securityPolicy: Basic256Sha256
auth: { type: username, username: gateway, password: change-me }
pkiDir: pki/opcua
timeoutMs: 2000
tags:
  - { name: temperature, nodeId: "ns=2;s=Press1.Temperature", type: number, deadband: { type: absolute, value: 0.5 } }
  - { name: pressure, nodeId: "ns=2;s=Press1.Pressure", type: number, deadband: { type: percent, value: 1 }, samplingIntervalMs: 50 }
  - { name: running, nodeId: "ns=2;i=5001", type: boolean }
  - { name: setpoint, nodeId: "ns=2;s=Press1.Setpoint", type: number, writable: true }
`;

function load(text: string): OpcUaDeviceConfig {
  return parseConfigText<OpcUaDeviceConfig>(text, 'device.yaml', opcuaDeviceSchema);
}

function issuesOf(text: string): string[] {
  try {
    load(text);
  } catch (error) {
    return ((error as MillwrightError).details['issues'] as { field: string }[]).map((issue) => issue.field);
  }
  throw new Error('expected the config to be refused');
}

const minimal = `
id: oven
driver: opcua
endpointUrl: opc.tcp://localhost:4840
pkiDir: pki
tags: [{ name: t, nodeId: "ns=1;i=1", type: number }]
`;

describe('opcuaDeviceSchema', () => {
  it('loads the documented example entry', () => {
    const config = load(example);
    expect(config).toMatchObject({ id: 'press-1', securityMode: 'SignAndEncrypt', auth: { type: 'username', username: 'gateway' }, samplingIntervalMs: 100, publishingIntervalMs: 100 });
    expect(config.tags).toHaveLength(4);
  });

  it('fills in anonymous None with 100 ms intervals for a minimal entry', () => {
    expect(load(minimal)).toMatchObject({ securityMode: 'None', securityPolicy: 'None', auth: { type: 'anonymous' }, samplingIntervalMs: 100, publishingIntervalMs: 100, timeoutMs: 5000 });
  });

  it('refuses SignAndEncrypt without Basic256Sha256, and a policy without SignAndEncrypt', () => {
    expect(issuesOf(`${minimal}securityMode: SignAndEncrypt\n`)).toContain('securityPolicy');
    expect(issuesOf(`${minimal}securityPolicy: Basic256Sha256\n`)).toContain('securityPolicy');
  });

  it('refuses a deadband on a boolean tag, a percent over 100 and unknown fields', () => {
    const withTag = (tag: string): string => minimal.replace(/tags: .*/, `tags: [${tag}]`);
    expect(issuesOf(withTag('{ name: b, nodeId: "ns=1;i=2", type: boolean, deadband: { type: absolute, value: 1 } }')).length).toBeGreaterThan(0);
    expect(issuesOf(withTag('{ name: p, nodeId: "ns=1;i=2", type: number, deadband: { type: percent, value: 150 } }'))).toContain('tags[0].deadband.value');
    expect(issuesOf(withTag('{ name: p, nodeId: "ns=1;i=2", type: number, unit: bar }'))).toContain('tags[0].unit');
    expect(issuesOf(`${minimal}pollIntervalMs: 100\n`)).toContain('pollIntervalMs');
  });

  it('refuses a username login without a password and an endpoint that is not opc.tcp', () => {
    expect(issuesOf(`${minimal}auth: { type: username, username: gateway }\n`).some((field) => field.startsWith('auth'))).toBe(true);
    expect(issuesOf(minimal.replace('opc.tcp://localhost:4840', 'http://localhost:4840'))).toContain('endpointUrl');
  });
});
