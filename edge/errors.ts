// Error catalog of the gateway (edge/). Codes are stable: logs, the local API and tests use them.
import { exitCode, type ErrorSpec } from '../common/errors.ts';

export const edgeErrors = {
  deviceUnreachable: { code: 'EDGE_DEVICE_UNREACHABLE', exit: exitCode.runtimeFailure },
  deviceTimeout: { code: 'EDGE_DEVICE_TIMEOUT', exit: exitCode.runtimeFailure },
  modbusException: { code: 'EDGE_MODBUS_EXCEPTION', exit: exitCode.runtimeFailure },
  writeNotPermitted: { code: 'EDGE_WRITE_NOT_PERMITTED', exit: exitCode.runtimeFailure },
  writeOutOfRange: { code: 'EDGE_WRITE_OUT_OF_RANGE', exit: exitCode.runtimeFailure },
  unknownTag: { code: 'EDGE_UNKNOWN_TAG', exit: exitCode.runtimeFailure },
  profileConflict: { code: 'EDGE_PROFILE_CONFLICT', exit: exitCode.badUsageOrConfig },
  stateUnwritable: { code: 'EDGE_STATE_UNWRITABLE', exit: exitCode.runtimeFailure },
  traceInvalid: { code: 'EDGE_TRACE_INVALID', exit: exitCode.badUsageOrConfig },
  opcuaBadStatus: { code: 'EDGE_OPCUA_BAD_STATUS', exit: exitCode.runtimeFailure },
  opcuaSecurityRejected: { code: 'EDGE_OPCUA_SECURITY_REJECTED', exit: exitCode.runtimeFailure },
  alarmInvalid: { code: 'EDGE_ALARM_INVALID', exit: exitCode.badUsageOrConfig },
  logForeignGateway: { code: 'EDGE_LOG_FOREIGN_GATEWAY', exit: exitCode.badUsageOrConfig },
  logFormatUnsupported: { code: 'EDGE_LOG_FORMAT_UNSUPPORTED', exit: exitCode.runtimeFailure },
  logLimitsInvalid: { code: 'EDGE_LOG_LIMITS_INVALID', exit: exitCode.badUsageOrConfig },
  logUnavailable: { code: 'EDGE_LOG_UNAVAILABLE', exit: exitCode.runtimeFailure },
  logCorrupt: { code: 'EDGE_LOG_CORRUPT', exit: exitCode.runtimeFailure },
  logPendingFull: { code: 'EDGE_LOG_PENDING_FULL', exit: exitCode.runtimeFailure },
  logBudgetFull: { code: 'EDGE_LOG_BUDGET_FULL', exit: exitCode.runtimeFailure },
  logDegraded: { code: 'EDGE_LOG_DEGRADED', exit: exitCode.runtimeFailure },
  logRecordInvalid: { code: 'EDGE_LOG_RECORD_INVALID', exit: exitCode.runtimeFailure },
  logClosed: { code: 'EDGE_LOG_CLOSED', exit: exitCode.runtimeFailure },
  logDiskFull: { code: 'EDGE_LOG_DISK_FULL', exit: exitCode.runtimeFailure },
  logDiskFailed: { code: 'EDGE_LOG_DISK_FAILED', exit: exitCode.runtimeFailure },
} as const satisfies Record<string, ErrorSpec>;
