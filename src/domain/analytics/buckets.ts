/** Time buckets of the analytics kinds: UTC minutes, hours and days (exact: UTC has no leap seconds in JS time). */
export const buckets = ['minute', 'hour', 'day'] as const
export type Bucket = (typeof buckets)[number]

/** Cohort periods of `retention`: UTC days, and ISO weeks (Monday 00:00 UTC to the next Monday). */
export const periods = ['day', 'week'] as const
export type Period = (typeof periods)[number]

const MINUTE = 60_000
const HOUR = 3_600_000
export const DAY = 86_400_000
const WEEK = 7 * DAY
/** 1970-01-01 was a Thursday: the first Monday is 4 days after the epoch. */
const MONDAY = 4 * DAY

/** The length of a bucket or period in milliseconds. */
export const spanMs = (b: Bucket | Period): number => (b === 'minute' ? MINUTE : b === 'hour' ? HOUR : b === 'day' ? DAY : WEEK)

/**
 * The index of the bucket or period holding `ms` (epoch milliseconds): bucket `i` starts at
 * {@link startOfIndex}`(i)`. Consecutive buckets have consecutive indices.
 */
export const indexOf = (ms: number, b: Bucket | Period): number => (b === 'week' ? Math.floor((ms - MONDAY) / WEEK) : Math.floor(ms / spanMs(b)))

/** The start (epoch ms) of bucket or period `i`. */
export const startOfIndex = (i: number, b: Bucket | Period): number => (b === 'week' ? i * WEEK + MONDAY : i * spanMs(b))

/** The ISO-8601 UTC start of bucket or period `i` (`2026-12-04T19:00:00.000Z`). */
export const isoStartOf = (i: number, b: Bucket | Period): string => new Date(startOfIndex(i, b)).toISOString()

/** The UTC day of epoch day `i` as `YYYY-MM-DD`. */
export const isoDayOf = (i: number): string => new Date(i * DAY).toISOString().slice(0, 10)
