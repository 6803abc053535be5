/** Stable codes of the simulator's errors, for callers that branch on them. */
export const SimulatorErrorCode = {
  badBehavior: 'ERR_SIM_BAD_BEHAVIOR',
  badMix: 'ERR_SIM_BAD_MIX',
  badOption: 'ERR_SIM_BAD_OPTION',
  unknownDevice: 'ERR_SIM_UNKNOWN_DEVICE',
} as const;
export type SimulatorErrorCode = (typeof SimulatorErrorCode)[keyof typeof SimulatorErrorCode];

/** A bad option, behaviour, mix spec or device id given to the simulator. */
export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';

  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}
