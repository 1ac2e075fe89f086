import type { Notice } from '../common/contract';
import type { EventHub } from './events';

/** Messages the user must see (a settings file moved aside, a database restored, …). */
export interface NoticeBoard {
  add(level: Notice['level'], message: string): Notice;
  list(): Notice[];
  dismiss(id: string): Notice[];
}

export function createNoticeBoard(events: EventHub, now: () => Date = () => new Date()): NoticeBoard {
  const notices: Notice[] = [];
  let counter = 0;
  return {
    add(level, message) {
      counter += 1;
      const notice: Notice = { id: `n${counter}`, level, message, at: now().toISOString() };
      notices.push(notice);
      events.emit('app.notice', notice);
      return notice;
    },
    list: () => [...notices],
    dismiss(id) {
      const index = notices.findIndex((n) => n.id === id);
      if (index >= 0) notices.splice(index, 1);
      return [...notices];
    },
  };
}
