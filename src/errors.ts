/**
 * The one error catalogue. Every error this library throws or rejects with is an instance of
 * ClusterError with a `code` from this table, and each code has its own class so callers can use
 * either `err.code === '...'` or `instanceof`. test/unit/errors.test.ts checks every code is
 * documented in docs/errors.md.
 */

export const ERROR_CATALOGUE = {
  CLUSTER_ERR_CONFIG_UNKNOWN_KEY: 'an option key that does not exist (often a typo)',
  CLUSTER_ERR_CONFIG_TYPE: 'an option of the wrong type',
  CLUSTER_ERR_CONFIG_RANGE: 'a number outside its allowed range',
  CLUSTER_ERR_CONFIG_VALUE: 'a value that is the right type but not an accepted value (enum, size string)',
  CLUSTER_ERR_CONFIG_CONFLICT: 'options that contradict each other (min > max, both config shapes, ...)',
  CLUSTER_ERR_PORT_IN_USE: 'the port given to listen() is already taken',
  CLUSTER_ERR_LISTEN: 'listen() failed for another reason (permission, bad address)',
  CLUSTER_ERR_NO_WORKERS: 'every initial worker failed to start; no process is left behind',
  CLUSTER_ERR_RELOAD_FAILED: 'a replacement worker did not become ready during a rolling reload; old workers kept',
  CLUSTER_ERR_WRONG_ROLE: 'a primary-only method was called in a worker or in single-process mode, or the reverse',
  CLUSTER_ERR_NOT_LISTENING: 'an operation that needs a running cluster was called before listen() or after close()',
  CLUSTER_ERR_ALREADY_LISTENING: 'listen() was called twice',
  CLUSTER_ERR_INVALID_ARGUMENT: 'a method argument is invalid (for example scaleTo(0))',
  CLUSTER_ERR_PLUGIN: 'a plugin is invalid, duplicated, or failed or timed out while starting',
  CLUSTER_ERR_IPC_TIMEOUT: 'a request got no reply within its timeout',
  CLUSTER_ERR_WORKER_GONE: 'the worker a request was waiting on exited (or the channel closed) before replying',
  CLUSTER_ERR_NO_HANDLER: 'the receiving process has no onMessage handler for the request type',
  CLUSTER_ERR_NO_WORKER: 'there is no worker in that slot (or no ready worker at all) to send to',
  CLUSTER_ERR_IPC_QUEUE_FULL:
    'ipc.queueLimit messages already wait for that worker (starting, or not reading), or the primary holds that many unanswered requests from the asker',
  CLUSTER_ERR_IPC_INVALID: 'a message is not { type: non-empty string, data? } or its data cannot be serialized',
  CLUSTER_ERR_IPC_TOO_LARGE: 'a message is larger than ipc.maxMessageBytes',
  CLUSTER_ERR_REMOTE_HANDLER: 'the remote handler threw; the error carries its message, code and name',
  CLUSTER_ERR_CONTROL_IN_USE: 'another running primary already owns this control socket (same app name)',
  CLUSTER_ERR_CONTROL_UNSAFE:
    'the control runtime directory is not private to this user, or the socket path is too long',
  CLUSTER_ERR_CONTROL_UNREACHABLE: 'no running cluster answers on the control socket (none started, or it stopped)',
  CLUSTER_ERR_CONTROL_PROTOCOL: 'a control message was malformed, too large, or named an unknown command',
  CLUSTER_ERR_CONFIG_FILE: 'a config file could not be found, loaded or parsed (the message names the file)',
  CLUSTER_ERR_CLI_USAGE: 'the command line was not understood (unknown command or flag, missing value)',
  CLUSTER_ERR_INTERPRETER_NOT_FOUND:
    'the runtime asked for with --interpreter (bun, node) is not installed where the command line looks',
} as const;

export type ClusterErrorCode = keyof typeof ERROR_CATALOGUE;

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One config problem; a ConfigError carries all of them, the first decides its class. */
export interface ConfigIssue {
  code: ClusterErrorCode;
  /** Dotted path from the createServer options, e.g. `cluster.config.workers`. */
  path: string;
  message: string;
}

export class ConfigError extends ClusterError {
  readonly issues: ConfigIssue[];
  readonly path: string;
  constructor(issues: ConfigIssue[]) {
    const first = issues[0]!;
    const lines = issues.map((i) => `  ${i.path}: ${i.message} [${i.code}]`).join('\n');
    super(
      first.code,
      `invalid otel-cluster options (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n${lines}`,
    );
    this.issues = issues;
    this.path = first.path;
  }
}

export class ConfigUnknownKeyError extends ConfigError {}
export class ConfigTypeError extends ConfigError {}
export class ConfigRangeError extends ConfigError {}
export class ConfigValueError extends ConfigError {}
export class ConfigConflictError extends ConfigError {}

const configClasses = {
  CLUSTER_ERR_CONFIG_UNKNOWN_KEY: ConfigUnknownKeyError,
  CLUSTER_ERR_CONFIG_TYPE: ConfigTypeError,
  CLUSTER_ERR_CONFIG_RANGE: ConfigRangeError,
  CLUSTER_ERR_CONFIG_VALUE: ConfigValueError,
  CLUSTER_ERR_CONFIG_CONFLICT: ConfigConflictError,
} as const;

/** Builds the ConfigError subclass matching the first issue's code. */
export function configError(issues: ConfigIssue[]): ConfigError {
  const Cls = configClasses[issues[0]!.code as keyof typeof configClasses] ?? ConfigError;
  return new Cls(issues);
}

function simple<C extends ClusterErrorCode>(code: C) {
  return class extends ClusterError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}

export class PortInUseError extends simple('CLUSTER_ERR_PORT_IN_USE') {}
export class ListenError extends simple('CLUSTER_ERR_LISTEN') {}
export class NoWorkersError extends simple('CLUSTER_ERR_NO_WORKERS') {}
export class ReloadFailedError extends simple('CLUSTER_ERR_RELOAD_FAILED') {}
export class WrongRoleError extends simple('CLUSTER_ERR_WRONG_ROLE') {}
export class NotListeningError extends simple('CLUSTER_ERR_NOT_LISTENING') {}
export class AlreadyListeningError extends simple('CLUSTER_ERR_ALREADY_LISTENING') {}
export class InvalidArgumentError extends simple('CLUSTER_ERR_INVALID_ARGUMENT') {}
export class PluginError extends simple('CLUSTER_ERR_PLUGIN') {}
export class IpcTimeoutError extends simple('CLUSTER_ERR_IPC_TIMEOUT') {}
export class WorkerGoneError extends simple('CLUSTER_ERR_WORKER_GONE') {}
export class NoHandlerError extends simple('CLUSTER_ERR_NO_HANDLER') {}
export class NoWorkerError extends simple('CLUSTER_ERR_NO_WORKER') {}
export class IpcQueueFullError extends simple('CLUSTER_ERR_IPC_QUEUE_FULL') {}
export class IpcInvalidMessageError extends simple('CLUSTER_ERR_IPC_INVALID') {}
export class IpcTooLargeError extends simple('CLUSTER_ERR_IPC_TOO_LARGE') {}
export class ControlInUseError extends simple('CLUSTER_ERR_CONTROL_IN_USE') {}
export class ControlUnsafeError extends simple('CLUSTER_ERR_CONTROL_UNSAFE') {}
export class ControlUnreachableError extends simple('CLUSTER_ERR_CONTROL_UNREACHABLE') {}
export class ControlProtocolError extends simple('CLUSTER_ERR_CONTROL_PROTOCOL') {}
export class ConfigFileError extends simple('CLUSTER_ERR_CONFIG_FILE') {}
export class CliUsageError extends simple('CLUSTER_ERR_CLI_USAGE') {}
export class InterpreterNotFoundError extends simple('CLUSTER_ERR_INTERPRETER_NOT_FOUND') {}

/** A handler on the other side threw: its message, and its code and name when it had them. */
export class RemoteHandlerError extends ClusterError {
  readonly remoteCode: string | undefined;
  readonly remoteName: string | undefined;
  constructor(message: string, remoteCode?: string, remoteName?: string) {
    super('CLUSTER_ERR_REMOTE_HANDLER', message);
    this.remoteCode = remoteCode;
    this.remoteName = remoteName;
  }
}
