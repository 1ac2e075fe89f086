/**
 * The one rule for every URL HordeDesk sends requests to (the horde, the ratings service, the
 * model reference, weight and tokenizer downloads): a plain http(s) URL of sane length, with no
 * user name or password in it, and `https` unless it points at this machine. Plain `http` to a
 * remote host would put the API key (and what the worker produces) on the wire in clear.
 */

/** Longest URL accepted anywhere; real service URLs are far shorter. */
export const MAX_SERVICE_URL_LENGTH = 2048;

/** True for hosts that never leave this machine: 127.0.0.0/8, [::1] and `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  const parts = host.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * Checks a service URL. Returns undefined when it may be used, otherwise the reason in the
 * words the Settings page shows next to the field (`what` names the service, e.g. "the horde").
 */
export function checkServiceUrl(raw: string, what = 'this service'): string | undefined {
  const text = raw.trim();
  if (text === '') return `Enter the address of ${what}, e.g. https://…`;
  if (text.length > MAX_SERVICE_URL_LENGTH) return `That address is too long (at most ${MAX_SERVICE_URL_LENGTH} characters).`;
  // Control characters and bidirectional overrides make an address read differently than it is.
  if (/[\p{Cc}\p{Cf}\p{Z}\s]/u.test(text)) return 'The address contains spaces or invisible characters.';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `That is not a full web address. Enter one like https://…`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The address must start with https://';
  if (url.username !== '' || url.password !== '') return 'The address must not contain a user name or password.';
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return `Use https:// for ${what}: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.)`;
  return undefined;
}

/** The origin (scheme://host:port) of a URL that passed `checkServiceUrl`. */
export function originOf(url: string): string {
  return new URL(url.trim()).origin;
}
