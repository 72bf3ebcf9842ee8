/**
 * The camera side of "Scan from phone": opens the camera (video only), feeds frames to the
 * decoder worker one at a time, gathers the parts (shared/cardata-qr.ts), and stops the camera
 * the moment the scan ends — complete, failed, cancelled, or the component unmounted.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react'
import { addScan, type Assembly } from '../../../shared/cardata-qr'
import { decodeFrame } from './decoder'

export type CameraProblem = 'denied' | 'no-camera' | 'busy' | 'failed' | 'decoder'

export type ScanState =
  | { kind: 'starting' }
  | { kind: 'scanning'; have: number; total: number; notice?: 'foreign' | 'restarted' | 'refused' }
  | { kind: 'complete'; text: string; parts: number }
  | { kind: 'error'; problem: CameraProblem; detail?: string }

/** getUserMedia's error names, sorted into what the user can act on. */
export function cameraProblem(error: unknown): CameraProblem {
  const name = error instanceof DOMException || error instanceof Error ? error.name : ''
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied'
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return 'no-camera'
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'busy'
  return 'failed'
}

/** Largest frame side handed to the decoder (pixels): enough for a phone screen at arm's length. */
const MAX_FRAME_SIDE = 1280

function grabFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement): ImageData | undefined {
  if (video.readyState < 2 || video.videoWidth === 0) return undefined
  const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight))
  canvas.width = Math.round(video.videoWidth * scale)
  canvas.height = Math.round(video.videoHeight * scale)
  const context = canvas.getContext('2d', { willReadFrequently: true })
  if (!context) return undefined
  context.drawImage(video, 0, 0, canvas.width, canvas.height)
  return context.getImageData(0, 0, canvas.width, canvas.height)
}

/**
 * Resolves once the video shows a frame it has not shown before, so each camera frame is
 * decoded once (a 30 fps camera, or Chromium's 10 fps test video, gives no more work than
 * that); on the next paint where the browser cannot tell.
 */
const nextVideoFrame = (element: HTMLVideoElement | null): Promise<void> =>
  new Promise((resolve) => {
    if (element && typeof element.requestVideoFrameCallback === 'function') element.requestVideoFrameCallback(() => resolve())
    else requestAnimationFrame(() => resolve())
  })

export function useCameraScan(video: RefObject<HTMLVideoElement | null>, attempt: number): { state: ScanState; cameraOn: boolean; stop: () => void } {
  const [state, setState] = useState<ScanState>({ kind: 'starting' })
  const [cameraOn, setCameraOn] = useState(false)
  const stopRef = useRef<() => void>(() => undefined)

  useEffect(() => {
    let stopped = false
    let stream: MediaStream | undefined
    let assembly: Assembly | undefined
    const canvas = document.createElement('canvas')
    const stop = (): void => {
      stopped = true
      for (const track of stream?.getTracks() ?? []) track.stop()
      if (video.current) video.current.srcObject = null
      setCameraOn(false)
    }
    stopRef.current = stop
    setState({ kind: 'starting' })

    const handle = (text: string): boolean => {
      const step = addScan(assembly, text)
      if (step.kind === 'complete') {
        stop()
        setState({ kind: 'complete', text: step.text, parts: step.parts })
        return true
      }
      if (step.kind === 'progress') {
        assembly = step.assembly
        setState({ kind: 'scanning', have: step.have, total: step.total, ...(step.restarted ? { notice: 'restarted' as const } : {}) })
      } else if (step.kind === 'refused') {
        assembly = undefined
        setState({ kind: 'scanning', have: 0, total: step.total, notice: 'refused' })
      } else {
        setState((current) => (current.kind === 'scanning' ? { ...current, notice: 'foreign' } : current))
      }
      return false
    }

    const loop = async (): Promise<void> => {
      while (!stopped) {
        const element = video.current
        const frame = element ? grabFrame(element, canvas) : undefined
        if (frame) {
          let texts: string[]
          try {
            texts = await decodeFrame(frame)
          } catch (error) {
            stop()
            setState({ kind: 'error', problem: 'decoder', detail: error instanceof Error ? error.message : String(error) })
            return
          }
          if (stopped) return
          for (const text of texts) if (handle(text)) return
        }
        await nextVideoFrame(element ?? null)
      }
    }

    const start = async (): Promise<void> => {
      if (!navigator.mediaDevices?.getUserMedia) {
        setState({ kind: 'error', problem: 'no-camera' })
        return
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      } catch (error) {
        if (!stopped) setState({ kind: 'error', problem: cameraProblem(error), detail: error instanceof Error ? error.message : String(error) })
        return
      }
      if (stopped || !video.current) {
        for (const track of stream.getTracks()) track.stop()
        return
      }
      video.current.srcObject = stream
      setCameraOn(true)
      await video.current.play().catch(() => undefined)
      setState({ kind: 'scanning', have: 0, total: 0 })
      await loop()
    }

    void start()
    return stop
  }, [video, attempt])

  const stop = useCallback(() => stopRef.current(), [])
  return { state, cameraOn, stop }
}
