import { useEffect, useRef, useState, type RefObject } from 'react';
import type { RatingStatus } from '../../../src-main/common/ratings';
import { useConnection } from '../bridge/BridgeContext';
import { RateHelp, RateLegend } from './RateHelp';
import { RatePad } from './RatePad';
import { useRateQueue, type RateQueue } from './RateQueue';
import { RateDownload, RateStats } from './RateSidebar';
import { INITIAL_RATING_KEY_STATE, handleRatingKey, type RatingKeyAction, type RatingKeyState } from './ratingKeys';

/** Keys typed into a field belong to the field. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT';
}

/** What to say when there is no image to show. */
function EmptyQueue({ status, loading, onRetry }: { status: RatingStatus | undefined; loading: boolean; onRetry: () => void }) {
  if (loading) return <p className="muted rate-empty">Loading images…</p>;
  const offline = status !== undefined && !status.online;
  return (
    <div className="rate-empty" data-testid="rate-empty">
      {offline && status.cached === 0 ? (
        <>
          <h2>You are offline and no images are saved for rating</h2>
          <p>Next time you are online, use “Download a session” to save a batch of images: you can then rate them without a network.</p>
        </>
      ) : offline ? (
        <>
          <h2>No image ready</h2>
          <p>You are offline. The saved images are being prepared; try again in a moment.</p>
        </>
      ) : (
        <>
          <h2>No images to rate right now</h2>
          <p>The ratings service has none for you at the moment. Try again shortly, or download a session to keep a batch at hand.</p>
        </>
      )}
      <button onClick={onRetry}>Try again</button>
    </div>
  );
}

/** The keyboard: one listener on the window while the page is shown. */
function useRatingKeyboard(
  queue: RateQueue,
  keysRef: RefObject<RatingKeyState>,
  setKeys: (s: RatingKeyState) => void,
  connectedRef: RefObject<boolean>,
  onIgnored: () => void,
): void {
  const latest = useRef(queue);
  useEffect(() => {
    latest.current = queue;
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.defaultPrevented || isTyping(e.target)) return;
      const result = handleRatingKey(keysRef.current, e.key, {
        ctrl: e.ctrlKey,
        meta: e.metaKey,
        alt: e.altKey,
        shift: e.shiftKey,
        code: e.code,
      });
      if (!result.handled) return;
      e.preventDefault();
      if (e.repeat) return; // a held key does not rate, skip or undo again and again
      // Without the app nothing can be rated: no choice is kept, nothing is queued to send later;
      // the page says so. The help is local and still opens.
      if (!connectedRef.current && result.action?.type !== 'help') {
        onIgnored();
        return;
      }
      const q = latest.current;
      const action: RatingKeyAction | null = result.action;
      // While an action is on its way, a second one waits for the user to press again; the chosen
      // rating is kept so only the last key needs repeating.
      if (action && action.type !== 'help' && q.isBusy()) return;
      setKeys(result.state);
      if (action?.type === 'rate') q.rate(action.rating, action.artifacts);
      else if (action?.type === 'skip') q.skip();
      else if (action?.type === 'undo') q.undo();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [keysRef, setKeys, connectedRef, onIgnored]);
}

/**
 * The rating keys' state (chosen rating, help open). A ref mirrors it so the window's key listener,
 * set up once, always reads the latest state without being added again on each change.
 */
function useRatingKeyState(): { keys: RatingKeyState; keysRef: RefObject<RatingKeyState>; setKeys: (s: RatingKeyState) => void } {
  const [keys, setKeysState] = useState<RatingKeyState>(INITIAL_RATING_KEY_STATE);
  const keysRef = useRef<RatingKeyState>(INITIAL_RATING_KEY_STATE);
  const setKeys = useRef((s: RatingKeyState) => {
    keysRef.current = s;
    setKeysState(s);
  }).current;
  return { keys, keysRef, setKeys };
}

/** Whether the app is reachable, and how many rating keys were pressed in vain since it went away. */
function useOfflineKeyPresses(): {
  connected: boolean;
  connectedRef: RefObject<boolean>;
  ignoredKeys: number;
  onIgnored: () => void;
} {
  const connected = useConnection().state === 'open';
  const connectedRef = useRef(connected);
  const [ignoredKeys, setIgnoredKeys] = useState(0);
  useEffect(() => {
    connectedRef.current = connected;
    if (connected) setIgnoredKeys(0);
  }, [connected]);
  const onIgnored = useRef(() => setIgnoredKeys((n) => n + 1)).current;
  return { connected, connectedRef, ignoredKeys, onIgnored };
}

/** The lines above the image: no connection (and the keys it cost), the service's word, the image's own instruction. */
function RateBanners({
  connected,
  ignoredKeys,
  message,
  instruction,
}: {
  connected: boolean;
  ignoredKeys: number;
  message: string | null | undefined;
  instruction: string | null | undefined;
}) {
  return (
    <>
      {!connected && (
        <p className="rate-banner warning" role="alert" data-testid="rate-offline">
          Not connected to HordeDesk: rating keys do nothing until it is back.
          {ignoredKeys > 0 && ` ${ignoredKeys} key ${ignoredKeys === 1 ? 'press was' : 'presses were'} ignored; nothing was rated.`}
        </p>
      )}
      {message && (
        <p className="rate-banner warning" role="status" data-testid="rate-message">
          {message}
        </p>
      )}
      {instruction && (
        <p className="rate-banner instruction" role="alert" data-testid="rate-instruction">
          <strong>Check image:</strong> {instruction}
        </p>
      )}
    </>
  );
}

/** The image to rate, or what to say when there is none. */
function RateFrame({ queue }: { queue: RateQueue }) {
  const { current, status } = queue;
  return (
    <div className="rate-frame">
      {current ? (
        <img
          key={current.imageId}
          src={current.src}
          alt="The image to rate"
          data-testid="rate-image"
          data-image-id={current.imageId}
          decoding="sync"
        />
      ) : (
        <EmptyQueue status={status} loading={queue.loading} onRetry={queue.refill} />
      )}
    </div>
  );
}

/** Rate images for the horde's aesthetic dataset, by keyboard or mouse, online or off. */
export function Rate() {
  const queue = useRateQueue();
  const { keys, keysRef, setKeys } = useRatingKeyState();
  const { connected, connectedRef, ignoredKeys, onIgnored } = useOfflineKeyPresses();
  useRatingKeyboard(queue, keysRef, setKeys, connectedRef, onIgnored);

  const { current, status } = queue;
  const toggleHelp = (): void => setKeys({ ...keysRef.current, helpOpen: !keysRef.current.helpOpen });
  const sendWith = (artifacts: number | null): void => {
    const rating = keysRef.current.selected;
    if (rating === null || queue.isBusy()) return;
    setKeys({ ...keysRef.current, selected: null });
    queue.rate(rating, artifacts);
  };

  return (
    <div className="rate">
      <section className="rate-stage" data-testid="rate-stage">
        <RateBanners connected={connected} ignoredKeys={ignoredKeys} message={status?.message} instruction={current?.instruction} />
        <RateFrame queue={queue} />
        {queue.error && (
          <p className="error" data-testid="rate-error">
            {queue.error}
          </p>
        )}
        {queue.note && (
          <p className="muted" data-testid="rate-note">
            {queue.note}
          </p>
        )}
        <RatePad
          selected={keys.selected}
          disabled={!current || !connected}
          onSelect={(rating) => setKeys({ ...keysRef.current, selected: rating })}
          onArtifacts={sendWith}
          onUndo={queue.undo}
          onSkip={queue.skip}
        />
        <RateLegend onHelp={toggleHelp} />
      </section>
      <aside className="column rate-side">
        <RateStats status={status} />
        <RateDownload status={status} onStatus={queue.setStatus} />
      </aside>
      {keys.helpOpen && <RateHelp onClose={() => setKeys({ ...keysRef.current, helpOpen: false })} />}
    </div>
  );
}
