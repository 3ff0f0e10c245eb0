// A real node-opcua server for the OPC UA driver's tests, run inside the test process on
// 127.0.0.1. It offers None and SignAndEncrypt/Basic256Sha256, anonymous and one username, and
// accepts unknown client certificates. Its variables cover what the driver must handle: a changing
// analog value (with an EURange for percent deadbands), a boolean, writable Double and Int16
// setpoints, a read-only Double, a String (wrong type for a number tag) and a Double whose status
// the test sets. The PKI folder is the caller's (a temp dir it removes).
import { join } from 'node:path';
import {
  DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes,
  type StatusCode, type UAVariable,
} from 'node-opcua';

export const testUser = { username: 'operator', password: 'correct horse' } as const;

export const testVariables = {
  Temperature: DataType.Double,
  Running: DataType.Boolean,
  Setpoint: DataType.Double,
  Speed: DataType.Int16,
  Locked: DataType.Double,
  Label: DataType.String,
  Pressure: DataType.Double,
} as const;
export type TestVariable = keyof typeof testVariables;

/** The node id the driver's config names for a test variable. */
export function testNodeId(name: TestVariable): string {
  return `ns=1;s=${name}`;
}

export interface OpcUaTestServer {
  readonly port: number;
  readonly endpointUrl: string;
  set(name: TestVariable, value: number | boolean | string, status?: StatusCode): void;
  value(name: TestVariable): unknown;
  stop(): Promise<void>;
}

const initialValues: Readonly<Record<TestVariable, number | boolean | string>> = {
  Temperature: 20, Running: true, Setpoint: 50, Speed: 100, Locked: 7, Label: 'not a number', Pressure: 1.5,
};

/** Starts a server on `port` (0 picks a free one); the server certificate is made in pkiDir. */
export async function startTestServer(pkiDir: string, port = 0): Promise<OpcUaTestServer> {
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
  // X509 user identities have their own store; left out, node-opcua would make one under ~/.config.
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'user-pki'), automaticallyAcceptUnknownCertificate: false });
  const server = new OPCUAServer({
    port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    serverCertificateManager: certificateManager,
    userCertificateManager,
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    allowAnonymous: true,
    userManager: { isValidUser: (username: string, password: string) => username === testUser.username && password === testUser.password },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.getOwnNamespace();
  const organizedBy = addressSpace.rootFolder.objects;
  const variables = new Map<TestVariable, UAVariable>();
  for (const [name, dataType] of Object.entries(testVariables) as [TestVariable, DataType][]) {
    const common = { organizedBy, browseName: name, nodeId: `s=${name}`, dataType: DataType[dataType] };
    const access = name === 'Locked' ? 'CurrentRead' : 'CurrentRead | CurrentWrite';
    const variable = name === 'Temperature'
      ? namespace.addAnalogDataItem({ ...common, engineeringUnitsRange: { low: 0, high: 100 }, accessLevel: access, userAccessLevel: access })
      : namespace.addVariable({ ...common, accessLevel: access, userAccessLevel: access });
    variable.setValueFromSource({ dataType, value: initialValues[name] }, StatusCodes.Good);
    variables.set(name, variable);
  }
  await server.start();
  const actualPort = server.endpoints[0]!.port;
  return {
    port: actualPort,
    endpointUrl: `opc.tcp://127.0.0.1:${actualPort}`,
    set(name, value, status = StatusCodes.Good) {
      variables.get(name)!.setValueFromSource({ dataType: testVariables[name], value }, status, new Date());
    },
    value(name) {
      return variables.get(name)!.readValue().value.value;
    },
    async stop() {
      await server.shutdown(0);
      await certificateManager.dispose();
      await userCertificateManager.dispose();
    },
  };
}
