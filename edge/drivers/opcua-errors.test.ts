// How node-opcua failures are sorted into stable codes: security refusals, timeouts, Bad status
// answers, lost connections, and the write refusals a server can give.
import { describe, expect, it } from 'vitest';
import { MillwrightError } from '../../common/errors.ts';
import { edgeErrors } from '../errors.ts';
import { describeOpcUaError, statusNameIn, writeStatusError } from './opcua-errors.ts';

const describeError = (message: string): MillwrightError => describeOpcUaError(new Error(message), 'press', 3000, '/pki');

describe('describeOpcUaError', () => {
  it('names certificate and identity refusals as security problems and says where to trust', () => {
    const error = describeError('server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)');
    expect(error).toMatchObject({ code: 'EDGE_OPCUA_SECURITY_REJECTED', details: { status: 'BadCertificateUntrusted' } });
    expect(error.message).toContain('/pki/trusted/certs');
    expect(describeError('ActivateSession failed: BadUserAccessDenied (0x801f0000)').code).toBe('EDGE_OPCUA_SECURITY_REJECTED');
    expect(describeError('BadIdentityTokenRejected').code).toBe('EDGE_OPCUA_SECURITY_REJECTED');
  });

  it('separates timeouts, Bad answers and lost connections', () => {
    expect(describeError('Transaction has timed out ( timeoutHint = 3000)').code).toBe(edgeErrors.deviceTimeout.code);
    expect(describeError('createSubscription: BadTooManySubscriptions').code).toBe('EDGE_OPCUA_BAD_STATUS');
    expect(describeError('connect ECONNREFUSED 127.0.0.1:4840').code).toBe(edgeErrors.deviceUnreachable.code);
    expect(describeError('BadConnectionClosed').code).toBe(edgeErrors.deviceUnreachable.code);
  });

  it('passes coded errors through unchanged', () => {
    const coded = new MillwrightError(edgeErrors.writeOutOfRange, 'too big');
    expect(describeOpcUaError(coded, 'press', 3000, '/pki')).toBe(coded);
  });
});

describe('writeStatusError', () => {
  it('maps the write answers of a server onto the edge write codes', () => {
    expect(writeStatusError('press', 'speed', 'BadNotWritable').code).toBe(edgeErrors.writeNotPermitted.code);
    expect(writeStatusError('press', 'speed', 'BadUserAccessDenied').code).toBe(edgeErrors.writeNotPermitted.code);
    expect(writeStatusError('press', 'speed', 'BadOutOfRange').code).toBe(edgeErrors.writeOutOfRange.code);
    expect(writeStatusError('press', 'speed', 'BadTypeMismatch').code).toBe(edgeErrors.writeOutOfRange.code);
    expect(writeStatusError('press', 'speed', 'UncertainNoCommunicationLastUsableValue')).toMatchObject({ code: 'EDGE_OPCUA_BAD_STATUS', details: { status: 'UncertainNoCommunicationLastUsableValue' } });
  });
});

describe('statusNameIn', () => {
  it('finds the first status code name in a message', () => {
    expect(statusNameIn('The operation failed with BadNodeIdUnknown (0x80340000)')).toBe('BadNodeIdUnknown');
    expect(statusNameIn('socket hang up')).toBeUndefined();
  });
});
