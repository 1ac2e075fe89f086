/** Where people can reach the HordeDesk project; part of the Client-Agent the horde sees. */
export const APP_CONTACT = 'https://github.com/hordedesk/hordedesk';
export const APP_NAME = 'HordeDesk';

/** `Client-Agent: name:version:contact` as the horde asks every client to send (HORDE-PROTOCOL §1.2). */
export function clientAgent(version: string): string {
  return `${APP_NAME}:${version}:${APP_CONTACT}`;
}
