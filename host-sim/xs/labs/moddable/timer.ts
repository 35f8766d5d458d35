/*
 * Stand-in for Moddable's `timer` module (bench only): timers run when the lab calls runTimers(),
 * the way Moddable runs a 0 ms Timer.set from its event loop after the socket callback returns.
 */
interface Entry {
  callback: () => void;
  repeat: boolean;
  cleared: boolean;
}

let queue: Entry[] = [];

const Timer = {
  set(callback: () => void, _ms?: number, _repeat?: number): Entry {
    const entry: Entry = { callback, repeat: false, cleared: false };
    queue.push(entry);
    return entry;
  },
  repeat(callback: () => void, _ms: number): Entry {
    // Keepalive: never fires in the lab (the client is created with timeout 0 anyway).
    return { callback, repeat: true, cleared: false };
  },
  clear(entry: Entry | undefined): void {
    if (entry) entry.cleared = true;
  },
};

export default Timer;

export function runTimers(): void {
  const due = queue;
  queue = [];
  for (let i = 0; i < due.length; i++) if (!due[i].cleared) due[i].callback();
}
