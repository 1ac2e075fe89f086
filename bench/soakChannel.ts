/** The broadcast channel on which the soak bench tells its inference worker thread to crash. */
export const SOAK_CRASH_CHANNEL = 'hordedesk-soak-crash';
