// How OPC UA failures become coded MillwrightErrors. node-opcua reports failures as Errors whose
// messages carry the status code name (BadUserAccessDenied, BadNotWritable, ...) or the socket
// error; this module sorts them into the gateway's catalog so logs and the engine see stable codes.
import { MillwrightError } from '../../common/errors.ts';
import { edgeErrors } from '../errors.ts';

/** The OPC UA codes of the edge catalog, under the names this module's callers use. */
export const opcuaErrors = {
  /** The server answered a service (read, write, subscribe) with a Bad status code. */
  badStatus: edgeErrors.opcuaBadStatus,
  /** The server refused our certificate or user, or we refused the server's certificate. */
  securityRejected: edgeErrors.opcuaSecurityRejected,
} as const;

const securityStatus = /^Bad(Certificate\w*|SecurityChecksFailed|SecurityPolicyRejected|SecurityModeRejected|UserAccessDenied|IdentityToken\w*|UserSignatureInvalid)$/;
const writeRefusedStatus = /^Bad(NotWritable|UserAccessDenied|WriteNotSupported)$/;
const writeValueStatus = /^Bad(OutOfRange|TypeMismatch|IndexRangeInvalid)$/;

/** The first status code name in a node-opcua error message, e.g. `BadNotWritable`. */
export function statusNameIn(message: string): string | undefined {
  return /\b((?:Bad|Uncertain)[A-Z][A-Za-z0-9]*)\b/.exec(message)?.[1];
}

/** Classifies an error thrown by node-opcua while talking to device `deviceId`. */
export function describeOpcUaError(error: unknown, deviceId: string, timeoutMs: number, pkiDir: string): MillwrightError {
  if (error instanceof MillwrightError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const status = statusNameIn(message);
  if (status !== undefined && securityStatus.test(status)) {
    return new MillwrightError(
      opcuaErrors.securityRejected,
      `device ${deviceId}: ${status}: the server refused our certificate or user, or its certificate is not trusted in ${pkiDir}/trusted/certs (an unknown server certificate is put in ${pkiDir}/rejected: review it and move it to trusted/certs)`,
      { status },
      error,
    );
  }
  if (status === 'BadTimeout' || /timed? ?out/i.test(message)) {
    return new MillwrightError(edgeErrors.deviceTimeout, `device ${deviceId}: no answer within ${timeoutMs} ms`, {}, error);
  }
  if (status !== undefined && status !== 'BadConnectionClosed' && status !== 'BadSecureChannelClosed' && status !== 'BadSessionClosed') {
    return new MillwrightError(opcuaErrors.badStatus, `device ${deviceId}: ${status}`, { status }, error);
  }
  return new MillwrightError(edgeErrors.deviceUnreachable, `device ${deviceId}: ${firstLine(message)}`, {}, error);
}

/** The error for a write the server answered with a status other than Good. */
export function writeStatusError(deviceId: string, tagName: string, status: string): MillwrightError {
  const where = `tag '${deviceId}/${tagName}'`;
  if (writeRefusedStatus.test(status)) return new MillwrightError(edgeErrors.writeNotPermitted, `${where}: the server refused the write (${status})`, { status });
  if (writeValueStatus.test(status)) return new MillwrightError(edgeErrors.writeOutOfRange, `${where}: the server refused the value (${status})`, { status });
  return new MillwrightError(opcuaErrors.badStatus, `${where}: write answered ${status}`, { status });
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0]?.trim() ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
