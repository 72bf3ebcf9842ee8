import { useTranslation } from 'react-i18next'
import { splitSeconds } from '../format'
import { useNow } from '../lib/hooks'

/** The time left until `expires`, ticking every second ("2 h 14 min 5 s left"; "Expired"). */
export function Countdown({ expires, className = '' }: { expires: string; className?: string }) {
  const { t } = useTranslation()
  const now = useNow()
  const secondsLeft = (new Date(expires).getTime() - now) / 1000
  const left = splitSeconds(secondsLeft)
  const expired = secondsLeft <= 0
  const tone = expired ? ' countdown--expired' : secondsLeft < 3600 ? ' countdown--soon' : ''
  return (
    <span className={`countdown${tone} ${className}`.trimEnd()} role="timer" aria-live="off" data-testid="countdown" data-expired={expired}>
      {expired
        ? t('token.expired')
        : left.days > 0
          ? t('token.leftDays', { days: left.days, hours: left.hours, minutes: left.minutes, seconds: left.seconds })
          : t('token.left', { hours: left.hours, minutes: left.minutes, seconds: left.seconds })}
    </span>
  )
}
