/**
 * How long a token must work: presets, a custom length, "valid until" a moment, or
 * "plan for a handover" (a handover time and how long the phone must work after it).
 * Used by the Request screen and by batch preparation; the state lives with the caller so
 * it survives re-renders; its rules are in duration-choice.ts.
 */
import { useId } from 'react'
import { useTranslation } from 'react-i18next'
import { compactDuration, endOfChoice, formatDateTime } from '../format'
import { MAX_PLAN_HOURS, PRESETS, resolveDuration, type DurationMode, type DurationState } from '../duration-choice'
import { useNow } from '../lib/hooks'

export interface DurationPickerProps {
  value: DurationState
  onChange: (next: DurationState) => void
  /** The legend above the choices. */
  legend: string
  disabled?: boolean
  /** A validation message from the last submit. */
  error?: string | null
}

export function DurationPicker({ value, onChange, legend, disabled = false, error }: DurationPickerProps) {
  const { t } = useTranslation()
  const id = useId()
  const set = (patch: Partial<DurationState>) => onChange({ ...value, ...patch })
  const mode = value.mode

  const option = (key: DurationMode, label: string) => (
    <label key={key} className="segmented__option">
      <input type="radio" name={`${id}-duration`} value={key} checked={mode === key} onChange={() => set({ mode: key })} />
      <span>{label}</span>
    </label>
  )

  return (
    <fieldset className="fieldset" disabled={disabled}>
      <legend className="card__title">{legend}</legend>
      <div className="segmented" role="presentation">
        {PRESETS.map((h) => option(`${h}h`, t('request.hours', { count: h })))}
        {option('custom', t('request.custom'))}
        {option('until', t('request.until'))}
        {option('plan', t('request.plan'))}
      </div>

      {mode === 'custom' && (
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-hours`} className="label">
              {t('request.customHours')}
            </label>
            <input
              id={`${id}-hours`}
              className="input input--narrow"
              type="number"
              min={0}
              max={8760}
              inputMode="numeric"
              value={value.hours}
              onChange={(e) => set({ hours: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-minutes`} className="label">
              {t('request.customMinutes')}
            </label>
            <input
              id={`${id}-minutes`}
              className="input input--narrow"
              type="number"
              min={0}
              max={59}
              inputMode="numeric"
              value={value.minutes}
              onChange={(e) => set({ minutes: e.target.value })}
            />
          </div>
        </div>
      )}
      {mode === 'until' && (
        <div className="field">
          <label htmlFor={`${id}-until`} className="label">
            {t('request.untilLabel')}
          </label>
          <input id={`${id}-until`} className="input input--auto" type="datetime-local" value={value.until} onChange={(e) => set({ until: e.target.value })} />
        </div>
      )}
      {mode === 'plan' && (
        <div className="field-row field-row--top">
          <div className="field">
            <label htmlFor={`${id}-plan-start`} className="label">
              {t('request.planStart')}
            </label>
            <input
              id={`${id}-plan-start`}
              className="input input--auto"
              type="datetime-local"
              value={value.planStart}
              onChange={(e) => set({ planStart: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-plan-hours`} className="label">
              {t('request.planHours')}
            </label>
            <input
              id={`${id}-plan-hours`}
              className="input input--narrow"
              type="number"
              min={0.5}
              max={MAX_PLAN_HOURS}
              step={0.5}
              inputMode="decimal"
              aria-describedby={`${id}-plan-help`}
              value={value.planHours}
              onChange={(e) => set({ planHours: e.target.value })}
            />
          </div>
          <p id={`${id}-plan-help`} className="help field-row__help">
            {t('request.planHelp')}
          </p>
        </div>
      )}
      <ValidUntilPreview value={value} />
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  )
}

/** "Valid until 2 Dec 2026, 17:37 CET (24 h)": when a key asked for now would end; nothing while the input is incomplete. */
export function ValidUntilPreview({ value }: { value: DurationState }) {
  const { t, i18n } = useTranslation()
  const now = useNow()
  const choice = resolveDuration(value, t, now)
  if (typeof choice === 'string') return null
  const end = endOfChoice(choice, now)
  const seconds = Math.round((end.getTime() - now) / 1000)
  return (
    <p className="valid-until" data-testid="valid-until">
      {t('request.validUntilPreview', { end: formatDateTime(end.toISOString(), i18n.language), duration: compactDuration(seconds) })}
    </p>
  )
}
