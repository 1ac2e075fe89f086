// The real inference worker thread, plus one thing for the soak bench: a message on the
// broadcast channel below makes the thread exit at once, as a crash in native code would. The
// host must then fail the job in flight, and the next job must get a fresh thread.
import { BroadcastChannel } from 'node:worker_threads';
import { SOAK_CRASH_CHANNEL } from './soakChannel';

const crash = new BroadcastChannel(SOAK_CRASH_CHANNEL);
// Never what keeps the thread alive: the real worker's message port does that.
crash.unref();
crash.onmessage = () => process.exit(70);

await import('../src-main/workers/inference.worker');
