import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { normalizeVin, vinProblem } from '../../../shared/vin'

export interface VinEditorProps {
  /** What the vehicle is called in the list, for the label ("VIN for Car 12"). */
  name: string
  onSave: (vin: string) => Promise<void>
}

/** Inline VIN entry for a vehicle imported without one; same rule as the main side (17 chars, no I/O/Q). */
export function VinEditor({ name, onSave }: VinEditorProps) {
  const { t } = useTranslation()
  const id = useId()
  const [value, setValue] = useState('')
  const [invalid, setInvalid] = useState(false)
  const [saving, setSaving] = useState(false)

  async function submit(event: React.FormEvent): Promise<void> {
    event.preventDefault()
    const vin = normalizeVin(value)
    if (vinProblem(vin) !== undefined) {
      setInvalid(true)
      return
    }
    setInvalid(false)
    setSaving(true)
    try {
      await onSave(vin)
    } finally {
      setSaving(false)
    }
  }

  return (
    <form className="vin-editor" onSubmit={(event) => void submit(event)} noValidate>
      <label className="visually-hidden" htmlFor={`${id}-vin`}>
        {t('vehicles.vinFor', { name })}
      </label>
      <input
        id={`${id}-vin`}
        className="input input--mono input--vin"
        value={value}
        maxLength={17}
        placeholder={t('vehicles.vinPlaceholder')}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? `${id}-error` : undefined}
        onChange={(event) => {
          setValue(event.target.value.toUpperCase())
          setInvalid(false)
        }}
      />
      <button type="submit" className="button button--secondary button--small" disabled={saving}>
        {t('vehicles.saveVin')}
      </button>
      {invalid && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {t('vehicles.vinInvalid')}
        </p>
      )}
    </form>
  )
}
