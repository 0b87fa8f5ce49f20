import { isDraft, original } from 'immer';

/**
 * Returns the entry of `list` that `matches`, for lists whose entries are unique by it (services
 * by name, certificates by id). Inside `StateStore.update`, `list` is an immer draft, and
 * `Array.prototype.find` on a draft makes a draft of every entry it passes, so one lookup costs
 * about as much as the whole list. This searches the unchanged original instead and drafts only
 * the entry found. If the mutation already added, removed or moved entries, the match may sit
 * elsewhere in the draft. Then this searches the draft as well.
 */
export function findEntry<T>(list: T[], matches: (entry: T) => boolean): T | undefined {
  if (!isDraft(list)) return list.find(matches);
  const index = (original(list as object) as T[] | undefined)?.findIndex(matches) ?? -1;
  if (index >= 0 && index < list.length) {
    const entry = list[index] as T;
    if (matches(entry)) return entry;
  }
  return list.find(matches);
}
