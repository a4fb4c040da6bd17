/**
 * UTC days, for the `eventsPerDay` quota (issue 11 item 6): a day is counted from 00:00:00.000
 * UTC to the next midnight, whatever the server's time zone. Pure; times are epoch milliseconds.
 */

export const MS_PER_DAY = 86_400_000

/** The UTC day of `ms`: days since 1970-01-01 (a day starts at UTC midnight). */
export const utcDayOf = (ms: number): number => Math.floor(ms / MS_PER_DAY)

/**
 * Milliseconds from `ms` to the next UTC midnight: at least 1 and at most one day (at midnight
 * exactly, a whole day). Waiting that long lands in the next UTC day.
 */
export const msUntilNextUtcDay = (ms: number): number => (utcDayOf(ms) + 1) * MS_PER_DAY - ms
