import { z } from 'zod';

/** Messages of the headless WebSocket transport. Both ends parse what they receive. */
export const clientMessageSchema = z.object({
  t: z.literal('cmd'),
  id: z.number().int().nonnegative(),
  name: z.string().max(100),
  payload: z.unknown(),
});
export type ClientMessage = z.infer<typeof clientMessageSchema>;

const commandErrorSchema = z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.string()).optional() });

export const serverMessageSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('res'),
    id: z.number().int().nonnegative(),
    result: z.union([z.object({ ok: z.literal(true), value: z.unknown() }), z.object({ ok: z.literal(false), error: commandErrorSchema })]),
  }),
  z.object({ t: z.literal('evt'), name: z.string(), payload: z.unknown() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Names of the Electron IPC channels. */
export const IPC_COMMAND_CHANNEL = 'hordedesk:command';
export const IPC_EVENT_CHANNEL = 'hordedesk:event';
