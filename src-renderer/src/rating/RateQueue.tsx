import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { RatingImage, RatingStatus } from '../../../src-main/common/ratings';
import type { Bridge } from '../bridge/bridge';
import { useBridge, useCommand, useConnection, useEvent } from '../bridge/BridgeContext';

/** How many images the page holds: the one shown and the next ones, decoded ahead. */
const QUEUE_SIZE = 5;
/** Rated images kept here so an undo shows its image again without a round trip. */
const KEEP_RATED = 20;

export interface RateQueue {
  current: RatingImage | null;
  upcoming: RatingImage[];
  /** The first queue answer has not come yet. */
  loading: boolean;
  /** Why the last action or refill failed, in the backend's words; '' when fine. */
  error: string;
  /** A short remark on the last action (e.g. nothing to undo); '' when none. */
  note: string;
  status: RatingStatus | undefined;
  setStatus: (s: RatingStatus) => void;
  /** True while a rate, skip or undo is on its way: another one would race it. */
  isBusy: () => boolean;
  rate: (rating: number, artifacts: number | null) => void;
  skip: () => void;
  undo: () => void;
  refill: () => void;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The images held here, and what the refills and the actions share about them. */
interface QueueState {
  items: RatingImage[];
  /** The same list as `items`, readable inside callbacks without waiting for a render. */
  itemsRef: RefObject<RatingImage[]>;
  /** True while a rate, skip or undo is on its way. */
  busy: RefObject<boolean>;
  /** Rated or skipped here: never shown again from a queue answer that crossed the action. */
  done: RefObject<Set<string>>;
  apply: (next: RatingImage[]) => void;
  loading: boolean;
  error: string;
  setError: (message: string) => void;
  /** Asks for the queue again; the image on screen stays on screen unless the backend dropped it (or `trustOrder`). */
  fetchQueue: (trustOrder: boolean) => void;
  refill: () => void;
}

/** The queue's images and its refill from `rating.queue`; the last refill asked for wins. */
function useQueueState(bridge: Bridge): QueueState {
  const [items, setItems] = useState<RatingImage[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const itemsRef = useRef<RatingImage[]>([]);
  const busy = useRef(false);
  const done = useRef(new Set<string>());
  const refillSeq = useRef(0);

  const apply = useCallback((next: RatingImage[]) => {
    itemsRef.current = next;
    setItems(next);
  }, []);

  const fetchQueue = useCallback(
    (trustOrder: boolean) => {
      const seq = ++refillSeq.current;
      bridge
        .invoke('rating.queue', { count: QUEUE_SIZE })
        .then((fresh) => {
          if (seq !== refillSeq.current) return; // a newer answer is on its way
          const usable = fresh.filter((i) => !done.current.has(i.imageId));
          const shown = itemsRef.current[0];
          const keepShown =
            !trustOrder &&
            shown !== undefined &&
            !done.current.has(shown.imageId) &&
            (busy.current || usable.some((i) => i.imageId === shown.imageId));
          apply(keepShown ? [shown, ...usable.filter((i) => i.imageId !== shown.imageId)] : usable);
          setError('');
        })
        .catch((e: unknown) => seq === refillSeq.current && setError(messageOf(e)))
        .finally(() => seq === refillSeq.current && setLoading(false));
    },
    [bridge, apply],
  );
  const refill = useCallback(() => fetchQueue(false), [fetchQueue]);
  return { items, itemsRef, busy, done, apply, loading, error, setError, fetchQueue, refill };
}

/** Refills on opening, when the connection comes back, and while new images arrive. */
function useQueueRefills({ refill, loading, itemsRef }: QueueState, cached: number): void {
  useEffect(() => refill(), [refill]);

  // The connection came back (maybe to a restarted app): what is on screen may be stale.
  const { opens } = useConnection();
  const seenOpens = useRef(opens);
  useEffect(() => {
    if (opens === seenOpens.current) return;
    seenOpens.current = opens;
    refill();
  }, [opens, refill]);

  // Top up while a download brings new images in, or when images appear after an empty queue.
  useEffect(() => {
    if (!loading && itemsRef.current.length < QUEUE_SIZE && cached > itemsRef.current.length) refill();
  }, [cached, loading, refill, itemsRef]);
}

/** Decodes the upcoming images now, so the next one paints the moment it is shown. */
function usePreloadedImages(items: RatingImage[]): void {
  const preloaded = useRef(new Map<string, HTMLImageElement>());
  useEffect(() => {
    const keep = new Set(items.map((i) => i.imageId));
    for (const id of preloaded.current.keys()) if (!keep.has(id)) preloaded.current.delete(id);
    for (const item of items) {
      if (preloaded.current.has(item.imageId)) continue;
      const img = new window.Image();
      img.src = item.src;
      img.decode().catch(() => undefined); // a broken image shows as such when its turn comes
      preloaded.current.set(item.imageId, img);
    }
  }, [items]);
}

/** Runs one action at a time; `after` gets the answer once the page may act again. A failure refills. */
function useOneAtATime({ busy, setError, refill }: QueueState, setNote: (note: string) => void) {
  return useCallback(
    <T,>(run: () => Promise<T>, after: (value: T) => void) => {
      if (busy.current) return;
      busy.current = true;
      setError('');
      setNote('');
      run()
        .then((value) => {
          busy.current = false;
          after(value);
        })
        .catch((e: unknown) => {
          busy.current = false;
          setError(messageOf(e));
          refill();
        });
    },
    [busy, setError, setNote, refill],
  );
}

/** Rate, skip and undo on the image in front, and the remark the last one left. */
function useQueueActions(bridge: Bridge, queue: QueueState, setStatus: (s: RatingStatus) => void) {
  const [note, setNote] = useState('');
  const rated = useRef<RatingImage[]>([]);
  const act = useOneAtATime(queue, setNote);
  const { itemsRef, done, apply, refill, fetchQueue } = queue;

  /** The backend took `image` off the queue: so does the page, and tops the queue up. */
  const takeOff = useCallback(
    (image: RatingImage, s: RatingStatus) => {
      done.current.add(image.imageId);
      setStatus(s);
      apply(itemsRef.current.filter((i) => i.imageId !== image.imageId));
      refill();
    },
    [done, setStatus, apply, itemsRef, refill],
  );

  const rate = useCallback(
    (rating: number, artifacts: number | null) => {
      const image = itemsRef.current[0];
      if (!image) return;
      act(
        () => bridge.invoke('rating.rate', { imageId: image.imageId, rating, artifacts }),
        (s) => {
          rated.current = [...rated.current.filter((i) => i.imageId !== image.imageId).slice(1 - KEEP_RATED), image];
          takeOff(image, s);
        },
      );
    },
    [act, bridge, itemsRef, takeOff],
  );

  const skip = useCallback(() => {
    const image = itemsRef.current[0];
    if (!image) return;
    act(
      () => bridge.invoke('rating.skip', { imageId: image.imageId }),
      (s) => takeOff(image, s),
    );
  }, [act, bridge, itemsRef, takeOff]);

  const undo = useCallback(() => {
    act(
      () => bridge.invoke('rating.undo', {}),
      ({ imageId, status: s }) => {
        setStatus(s);
        if (imageId === null) {
          setNote('Nothing to undo: the last rating has already been sent, or there is none yet.');
          return;
        }
        done.current.delete(imageId);
        const back = rated.current.find((i) => i.imageId === imageId);
        rated.current = rated.current.filter((i) => i.imageId !== imageId);
        setNote('Rating undone: rate this image again.');
        if (back) {
          apply([back, ...itemsRef.current.filter((i) => i.imageId !== imageId)]);
          refill();
        } else fetchQueue(true); // rated before this page opened: the backend has it in front
      },
    );
  }, [act, bridge, setStatus, done, itemsRef, apply, refill, fetchQueue]);

  return { note, rate, skip, undo };
}

/**
 * The Rate page's images and actions. The queue answer (image bytes inline) is kept here, so
 * when a rating is accepted the next image is already decoded and shows at once; the queue is
 * then topped up in the background.
 */
export function useRateQueue(): RateQueue {
  const bridge = useBridge();
  const status = useCommand('rating.status', {});
  const setStatus = status.set;
  useEvent(
    'rating.status',
    useCallback((s: RatingStatus) => setStatus(s), [setStatus]),
  );
  const queue = useQueueState(bridge);
  useQueueRefills(queue, status.data?.cached ?? 0);
  usePreloadedImages(queue.items);
  const { note, rate, skip, undo } = useQueueActions(bridge, queue, setStatus);
  const { busy, items } = queue;
  const isBusy = useCallback(() => busy.current, [busy]);
  return {
    current: items[0] ?? null,
    upcoming: items.slice(1),
    loading: queue.loading,
    error: queue.error || status.error || '',
    note,
    status: status.data,
    setStatus,
    isBusy,
    rate,
    skip,
    undo,
    refill: queue.refill,
  };
}
