import type { Connection } from '../bridge/bridge';

/** Shown above every page while the app is not reachable; the shell takes no input meanwhile. */
export function ConnectionBanner({ connection }: { connection: Connection }) {
  if (connection.state === 'open' || connection.state === 'refused') return null;
  const first = connection.opens === 0;
  return (
    <div className="connection-banner" role="alert" data-testid="connection-banner" data-state={connection.state}>
      <strong>{first && connection.state === 'connecting' ? 'Connecting to HordeDesk…' : 'Not connected — reconnecting…'}</strong>
      <span>
        {first
          ? 'HordeDesk is not answering yet. Is it still running?'
          : 'HordeDesk stopped answering. Nothing you do here is sent until it is back; this page reconnects by itself.'}
      </span>
    </div>
  );
}

/**
 * The whole page when the app refuses this address: retrying cannot help, the user needs the
 * address HordeDesk printed (each start prints a new one, unless HORDEDESK_TOKEN fixes it).
 */
export function AddressNotValid({ refusal }: { refusal: Connection['refusal'] }) {
  return (
    <div className="address-invalid" role="alert" data-testid="address-invalid">
      <h1>This address is not valid any more — open the address HordeDesk printed</h1>
      {refusal === 'origin' ? (
        <p>
          HordeDesk answers only on <code>http://127.0.0.1:PORT</code> and <code>http://localhost:PORT</code>, with the port it printed.
          This page was opened through another address.
        </p>
      ) : (
        <p>
          The access token in this address is not the one HordeDesk is using. HordeDesk prints a new address each time it starts: copy the
          one from its window or terminal.
        </p>
      )}
    </div>
  );
}
