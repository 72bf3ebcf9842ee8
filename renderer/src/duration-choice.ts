/**
 * The app's duration choice as data: presets, a custom length, "valid until" a moment, or
 * "plan for a handover". `resolveDuration` turns it into the DurationPlan the main process
 * sends (shared/duration.ts holds the limits), or into the sentence saying what to correct;
 * the DurationPicker component draws it. No React here, so the rules are tested on their own.
 */
import { MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, type DurationPlan } from '../../shared/duration'
import { localInputToIso, toLocalInput } from './format'

export const PRESETS = [1, 4, 8, 24, 72] as const
export type DurationMode = `${(typeof PRESETS)[number]}h` | 'custom' | 'until' | 'plan'

/** The longest the phone may need the key after a planned handover: the longest token VK Depot asks for. */
export const MAX_PLAN_HOURS = MAX_DURATION_SECONDS / 3600

export interface DurationState {
  mode: DurationMode
  hours: string
  minutes: string
  until: string
  planStart: string
  planHours: string
}

export function initialDuration(mode: DurationMode = '24h', now: number = Date.now()): DurationState {
  return {
    mode,
    hours: '2',
    minutes: '30',
    until: toLocalInput(new Date(now + 24 * 3600 * 1000)),
    planStart: toLocalInput(new Date(now + 24 * 3600 * 1000)),
    planHours: '8',
  }
}

type Translate = (key: string) => string

/** The choice to send, or the sentence explaining what to correct. */
export function resolveDuration(state: DurationState, t: Translate, now: number = Date.now()): DurationPlan | string {
  if (state.mode === 'custom') {
    const h = Number(state.hours || '0')
    const m = Number(state.minutes || '0')
    if (!Number.isInteger(h) || !Number.isInteger(m) || h < 0 || m < 0 || m > 59) return t('request.customInvalid')
    const seconds = h * 3600 + m * 60
    if (seconds <= 0) return t('request.customInvalid')
    return { kind: 'seconds', seconds }
  }
  if (state.mode === 'until') {
    const iso = localInputToIso(state.until)
    if (!iso) return t('request.untilInvalid')
    if (new Date(iso).getTime() <= now) return t('request.untilPast')
    if (new Date(iso).getTime() - now < MIN_DURATION_SECONDS * 1000) return t('request.tooShort')
    return { kind: 'until', until: iso }
  }
  if (state.mode === 'plan') {
    const start = localInputToIso(state.planStart)
    if (!start) return t('request.planStartInvalid')
    const hours = Number(state.planHours)
    if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_PLAN_HOURS) return t('request.planHoursInvalid')
    const seconds = Math.round(hours * 3600)
    const end = new Date(start).getTime() + seconds * 1000
    if (end <= now) return t('request.planPast')
    if (end - now < MIN_DURATION_SECONDS * 1000) return t('request.tooShort')
    if (end - now > MAX_DURATION_SECONDS * 1000) return t('request.planTooLong')
    return { kind: 'plan', start, seconds }
  }
  return { kind: 'seconds', seconds: Number.parseInt(state.mode, 10) * 3600 }
}
